"""Does a fixed shift-correlation cue carry ghosting evidence that the shipped maps lack? A stacking probe.

A ghost is a displaced copy: every edge has a twin at a fixed offset. The cue is the local normalised correlation
of the luminance derivative along a direction with itself displaced along it (32 channels: 4 directions x 8
offsets), computed on the image, not learned. Per pixel of the validation canvases (every 4th row and column, the
ignore band left out), gradient-boosted trees are fitted on the even-indexed canvases and scored on the odd ones
and the reverse, with (a) the shipped model's ghosting probability, (b) the cue, (c) both; ghosting canvases'
visible pixels are the positives, every other valid pixel of ghosting and clean canvases the negatives. If (c)
beats (a) the cue holds evidence the model does not extract. Writes ``benchmarks/results/cue_probe.json``.

    python benchmarks/cue_probe.py --val-shards VAL_SHARDS [--samples 256]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from common import write_results
from sklearn.ensemble import HistGradientBoostingClassifier

from ipad_iqa.baselines import ops
from ipad_iqa.baselines.networks import build_model
from ipad_iqa.data.shards import ShardDataset, read_member
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.train.config import load_config

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "ipad_clip_s.yaml"
SHIPPED = ROOT / "ipad_iqa" / "assets" / "ipad_clip_s.safetensors"
DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))
OFFSETS: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16, 24)
WINDOW = 15
PIXEL_STEP = 4


def shift_correlation(images: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) in [0,1] -> (B,32,H,W): correlation of each directional derivative with its displaced self."""
    y = ops.luminance(images)
    gy = F.pad(y[..., 2:, :] - y[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
    gx = F.pad(y[..., :, 2:] - y[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
    channels = []
    for dy, dx in DIRECTIONS:
        norm = math.hypot(dy, dx)
        g = (dy * gy + dx * gx) / norm
        energy = ops.box_mean(g * g, WINDOW)
        for d in OFFSETS:
            k = max(1, round(d / norm))
            moved = ops.shift(g, k * dy, k * dx)
            den = (energy * ops.shift(energy, k * dy, k * dx)).sqrt() + 1e-5
            channels.append(ops.box_mean(g * moved, WINDOW) / den)
    return torch.cat(channels, dim=1)


@torch.no_grad()
def pixel_table(model: torch.nn.Module, shards: str, samples: int) -> dict[str, np.ndarray]:
    """Per sampled pixel of ghosting and clean canvases: canvas index, mode, model probability, cue, target."""
    data = ShardDataset(shards)
    anchors = model.text_anchors()
    rows: dict[str, list[np.ndarray]] = {"canvas": [], "mode": [], "model": [], "cue": [], "target": []}
    s = slice(None, None, PIXEL_STEP)
    for i, rec in enumerate(data.records[:samples]):
        label = int(rec.meta["label_index"])
        if label not in (0, 1):
            continue
        image = read_member(rec.path, rec.image, rec.image_format)
        mask = read_member(rec.path, rec.mask, "png")
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None] / 255.0
        out = model.forward_views(model.normalize(x), anchors)
        prob = F.interpolate(out.probs.float()[:, 1:2], size=x.shape[-2:], mode="bilinear", align_corners=False)
        cue = shift_correlation(x)
        valid = (mask != 128)[s, s]
        n = int(valid.sum())
        rows["canvas"].append(np.full(n, i))
        rows["mode"].append(np.full(n, rec.meta["params"].get("mode", "clean") if label else "clean"))
        rows["model"].append(prob[0, 0][s, s].numpy()[valid])
        rows["cue"].append(cue[0][:, s, s].numpy()[:, valid].T)
        rows["target"].append((mask == 255)[s, s][valid])
    return {k: np.concatenate(v) for k, v in rows.items()}


def held_out_auroc(features: np.ndarray, target: np.ndarray, canvas: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean of the two held-out AUROCs (fit on even canvases, score odd ones, and the reverse); the scores."""
    scores = np.zeros(len(target))
    results = []
    for part in (0, 1):
        fit, test = canvas % 2 == part, canvas % 2 != part
        clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, random_state=0)
        clf.fit(features[fit], target[fit])
        scores[test] = clf.predict_proba(features[test])[:, 1]
        results.append(auroc(scores[test], target[test]))
    return float(np.mean(results)), scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--val-shards", required=True)
    parser.add_argument("--weights", type=Path, default=SHIPPED, help="default: the shipped ipad_clip weights")
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model = build_model(load_config(RECIPE, [f"init_weights={args.weights}", "init_fresh=[]", "init_drop=[]"]))
    table = pixel_table(model.eval(), args.val_shards, args.samples)
    model_feature = table["model"][:, None]
    sets = {"model": model_feature, "cue": table["cue"], "model+cue": np.hstack([model_feature, table["cue"]])}
    result: dict[str, object] = {"samples": args.samples, "pixels": int(len(table["target"])),
                                 "positives": int(table["target"].sum()),
                                 "raw_model_auroc": auroc(table["model"], table["target"])}
    per_mode: dict[str, dict[str, float]] = {}
    for name, feats in sets.items():
        result[name], scores = held_out_auroc(feats, table["target"], table["canvas"])
        for mode in sorted(set(table["mode"]) - {"clean"}):
            keep = (table["mode"] == mode) | (table["mode"] == "clean")
            per_mode.setdefault(mode, {})[name] = auroc(scores[keep], table["target"][keep])
    result["gain"] = result["model+cue"] - result["model"]
    result["per_mode"] = per_mode
    write_results("cue_probe", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
