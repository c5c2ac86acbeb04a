"""Is the model short of data or of fit? Its recipe loss on canvases it trained on against canvases it never saw.

Scores trained weights with the recipe's validation (``ipad_iqa.train.loop.validate``: the training loss and the
image accuracy, one fixed crop per canvas) on the first ``--samples`` canvases of the training shards and of the
validation shards, and on the same crops each class's pixel AUROC (the class's visible pixels against every other
valid pixel of its crops and the clean ones, the ignore band left out) and image AUROC (fused class probability,
the class's crops against the clean ones). A training loss far below the validation loss is a model that
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
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.output import ARTIFACT_CLASSES
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets, validate
from ipad_iqa.weights import sha256_file

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "ipad_clip_s.yaml"
SHIPPED = ROOT / "ipad_iqa" / "assets" / "ipad_clip_s.safetensors"


PIXEL_STEP = 4  # every 4th pixel of each crop's rows and columns: the maps are made at stride 4


def crop_aurocs(model: torch.nn.Module, batches: list[dict], outputs: list) -> dict[str, dict[str, float | None]]:
    """Per-class pixel and image AUROC of ``model``'s ``outputs`` on validation crops (masks, ignore band and
    labels), one output per batch."""
    probs, masks, valid, labels, class_probs = [], [], [], [], []
    for b, out in zip(batches, outputs, strict=True):
        grid = out.probs.float()
        if grid.shape[-2:] != b["masks"].shape[-2:]:
            grid = torch.nn.functional.interpolate(grid, size=b["masks"].shape[-2:], mode="bilinear",
                                                   align_corners=False)
        s = slice(None, None, PIXEL_STEP)
        probs.append(grid[:, 1:, s, s])
        masks.append(b["masks"][:, :, s, s] > 0.5)
        valid.append(b["valid"][:, s, s] > 0.5)
        labels.append(b["label"])
        class_probs.append(model.fuse(out.cls_logits, out.probs)[0].float())
    probs, masks, valid = torch.cat(probs).numpy(), torch.cat(masks).numpy(), torch.cat(valid).numpy()
    labels, class_probs = torch.cat(labels).numpy(), torch.cat(class_probs).numpy()
    result: dict[str, dict[str, float | None]] = {"pixel_auroc": {}, "image_auroc": {}}
    for k, name in enumerate(ARTIFACT_CLASSES):
        crops = (labels == k + 1) | (labels == 0)
        result["pixel_auroc"][name] = auroc(probs[crops, k], masks[crops, k], ignore=~valid[crops])
        result["image_auroc"][name] = auroc(class_probs[crops, k], labels[crops] == k + 1)
    return result


def recipe_fit(model: torch.nn.Module, base: list[str], shards: str) -> dict[str, object]:
    """Validation loss, accuracy and per-class AUROCs of ``model`` on the first ``data.val_samples`` canvases of
    ``shards`` (one fixed crop each)."""
    cfg = load_config(RECIPE, [*base, f"data.shards={shards}", f"data.val_shards={shards}"])
    _, canvases = _datasets(cfg)
    batches = list(DataLoader(canvases, batch_size=cfg.optim.batch_size))
    outputs: list = []
    fit = validate(model, batches, cfg, outputs)  # the one forward pass, without gradients: AUROCs read it
    return {**fit, **crop_aurocs(model, batches, outputs)}


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
