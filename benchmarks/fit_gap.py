"""Is the model short of data or of fit? Its recipe loss on canvases it trained on against canvases it never saw.

Scores trained weights with the recipe's validation (``ipad_iqa.train.loop.validate``: the training loss, the
image accuracy and each class's pixel and image AUROC, one fixed crop per canvas) on the first ``--samples``
canvases of the training shards and of the validation shards. A training loss far below the validation loss is a model that
memorizes: more or more varied data is its lever. Two losses alike, both far from zero, and AUROCs no higher on
the training crops, are a model that does not fit even what it saw: its capacity or its optimization is the
lever, not the data. Writes ``benchmarks/results/fit_gap.json``.

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


def recipe_fit(model: torch.nn.Module, base: list[str], shards: str) -> dict[str, object]:
    """Validation loss, accuracy and per-class AUROCs of ``model`` on the first ``data.val_samples`` canvases of
    ``shards`` (one fixed crop each)."""
    cfg = load_config(RECIPE, [*base, f"data.shards={shards}", f"data.val_shards={shards}"])
    _, canvases = _datasets(cfg)
    batches = list(DataLoader(canvases, batch_size=cfg.optim.batch_size))
    return validate(model, batches, cfg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", required=True, help="the training shards the weights were trained on")
    parser.add_argument("--val-shards", required=True)
    parser.add_argument("--weights", type=Path, default=SHIPPED, help="default: the shipped ipad_clip weights")
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    base = [f"init_weights={args.weights}", "init_fresh=[]", "init_drop=[]", f"data.val_samples={args.samples}"]
    model = build_model(load_config(RECIPE, base))  # built once: only the canvases differ between the two losses
    train, val = (recipe_fit(model, base, s) for s in (args.shards, args.val_shards))
    result = {"weights_sha256": sha256_file(args.weights), "samples": args.samples, "train": train, "val": val,
              "val_minus_train_loss": val["val_loss"] - train["val_loss"]}
    write_results("fit_gap", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
