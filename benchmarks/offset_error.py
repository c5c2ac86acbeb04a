"""Is the ghost offset learned at all? The offset head's error on validation ghosting views (experiment).

Per view of the first N validation canvases that shows ghosting, the head's per-cell prediction is compared with the
canvas's offset, weighted by the cell's visible ghosting pixels: the weighted smooth-L1 (the training loss) of the
head and of the best constant (the validation offsets' weighted mean), and the median axial angle error in degrees
over visible cells against 45 for a blind guess. Writes ``benchmarks/results/offset_error.json``.

    python benchmarks/offset_error.py --val-shards VAL_SHARDS --weights RUN/best.safetensors [--samples 256]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch
from common import write_results

from ipad_iqa.baselines.networks import load_trained
from ipad_iqa.data.shards import ShardDataset
from ipad_iqa.train.losses import displacement_loss, on_map_grid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--val-shards", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--samples", type=int, default=256)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    model = load_trained(args.weights)
    data = ShardDataset(args.val_shards)
    preds, targets, weights = [], [], []
    with torch.no_grad():
        t = model.text_anchors()
        for i in range(min(args.samples, len(data.records))):
            item = data[i]
            if int(item["label"]) != 1:
                continue
            out = model.forward_views(model.normalize(item["image"][None]), t)
            ghost = (item["masks"][:1] * item["valid"])[None]
            w = on_map_grid(ghost, out.displacement.shape[-2:])[0, 0]
            keep = w > 0
            preds.append(out.displacement[0][:, keep].T)
            targets.append(item["offset"].expand(int(keep.sum()), 3))
            weights.append(w[keep])
    p, y, w = torch.cat(preds), torch.cat(targets), torch.cat(weights)

    def loss(pred: torch.Tensor) -> float:
        # displacement_loss on one "view" per cell: (N,3,1,1) maps, weights as masks of one pixel per cell
        return float(displacement_loss(pred[:, :, None, None], y, w[:, None, None, None].expand(-1, 3, 1, 1), None))

    constant = (y * w[:, None]).sum(0) / w.sum()
    angle_pred = torch.atan2(p[:, 1], p[:, 0]) / 2
    angle_true = torch.atan2(y[:, 1], y[:, 0]) / 2
    diff = torch.remainder(angle_pred - angle_true + np.pi / 2, np.pi) - np.pi / 2
    result = {"weights": args.weights, "views": len(preds), "cells": int(len(w)),
              "loss_head": loss(p), "loss_constant": loss(constant.expand_as(y)),
              "median_angle_error_deg": float(diff.abs().rad2deg().median()), "blind_angle_error_deg": 45.0,
              "length_corr": float(np.corrcoef(p[:, 2].numpy(), y[:, 2].numpy())[0, 1])}
    write_results("offset_error", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
