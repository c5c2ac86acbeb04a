"""Is the model short of data or of fit? Its recipe loss on canvases it trained on against canvases it never saw.

Scores trained weights with the recipe's validation (``ipad_iqa.train.loop.validate``: the training loss and the
image accuracy, one fixed crop per canvas) on the first ``--samples`` canvases of the training shards and of the
validation shards. A training loss far below the validation loss is a model that memorizes: more or more varied
data is its lever. Two losses alike, both far from zero, are a model that does not fit even what it saw: its
capacity or its optimization is the lever, not the data. Writes ``benchmarks/results/fit_gap.json``.

    python benchmarks/fit_gap.py --shards SHARDS --val-shards VAL_SHARDS [--weights W] [--samples 256]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from common import write_results
from torch.utils.data import DataLoader

from ipad_iqa.baselines.networks import build_model
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets, validate
from ipad_iqa.weights import sha256_file

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "ipad_clip_s.yaml"
SHIPPED = ROOT / "ipad_iqa" / "assets" / "ipad_clip_s.safetensors"


def recipe_loss(weights: Path, shards: str, samples: int) -> dict[str, float]:
    """Validation loss and accuracy of ``weights`` on the first ``samples`` canvases of ``shards``."""
    cfg = load_config(RECIPE, [f"data.shards={shards}", f"data.val_shards={shards}", f"data.val_samples={samples}",
                               f"init_weights={weights}", "init_fresh=[]", "init_drop=[]", "num_threads=2"])
    _, canvases = _datasets(cfg)
    model = build_model(cfg)
    with torch.no_grad():
        return validate(model, list(DataLoader(canvases, batch_size=cfg.optim.batch_size)), cfg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", required=True, help="the training shards the weights were trained on")
    parser.add_argument("--val-shards", required=True)
    parser.add_argument("--weights", type=Path, default=SHIPPED, help="default: the shipped ipad_clip weights")
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    train, val = (recipe_loss(args.weights, s, args.samples) for s in (args.shards, args.val_shards))
    result = {"weights_sha256": sha256_file(args.weights), "samples": args.samples, "train": train, "val": val,
              "val_minus_train_loss": val["val_loss"] - train["val_loss"]}
    write_results("fit_gap", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
