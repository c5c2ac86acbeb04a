"""Does a fine, narrow-band Gabor cue carry moiré evidence on 3-6 px fringes that the shipped maps lack? A probe.

The shipped maps rank the finest val fringes (3-6 px) worst. The shipped cue splits energy into octave bands; a
fine fringe is one narrow spectral peak inside them, where fine natural texture is broadband. The cue here,
computed on the image and not learned, is a quadrature Gabor bank (periods 3, 4, 5, 6 and 8 px, 6 orientations,
applied in the frequency domain): per period the log energy of luminance over orientations, the strongest
orientation's share of it and the log energy of the two opponent chroma channels, plus the strongest filter's
share of the whole bank, each averaged over a 7-px window. Per pixel of the val canvases (every 4th row and
column, the ignore band left out), gradient-boosted trees are fitted on the even-indexed canvases and scored on
the odd ones and the reverse, with (a) the shipped metric's moiré map, (b) the cue, (c) both; moiré canvases'
visible pixels are the positives, every other valid pixel of moiré and clean canvases the negatives. The fine
bin: moiré canvases whose finer fringe period is <= 6.3 px, against every clean canvas. Writes
``benchmarks/results/fine_cue_probe.json``.

    python benchmarks/fine_cue_probe.py --val-shards VAL_SHARDS [--samples 256] [--weights W]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pyiqa
import torch
from common import write_results
from sklearn.ensemble import HistGradientBoostingClassifier

import ipad_iqa  # noqa: F401  (registers the metrics)
from ipad_iqa.baselines import ops
from ipad_iqa.data.shards import ShardDataset, read_member
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS

PERIODS_PX: tuple[float, ...] = (3.0, 4.0, 5.0, 6.0, 8.0)
ORIENTATIONS = 6
RELATIVE_BANDWIDTH = 0.3  # Gaussian sigma of each filter's passband as a share of its centre frequency
WINDOW = 7
PIXEL_STEP = 4
FINE_PERIOD_PX = 6.3  # the finest quartile of val fringe periods (moire_by_period, aee59c7)
MOIRE = LABELS.index("moire")


def opponent(images: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB -> (B,3,H,W): luminance, red-green, yellow-blue."""
    r, g, b = images.unbind(1)
    return torch.stack([ops.luminance(images)[:, 0], r - g, (r + g) / 2 - b], dim=1)


def gabor_energy(x: torch.Tensor) -> torch.Tensor:
    """(B,C,H,W) -> (B,C,P,O,H,W): quadrature energy of each channel per period and orientation (one-sided
    Gaussian passbands: the inverse transform's magnitude is the even and odd filters' energy together)."""
    h, w = x.shape[-2:]
    fy = torch.fft.fftfreq(h).view(h, 1)
    fx = torch.fft.fftfreq(w).view(1, w)
    spectrum = torch.fft.fft2(x - x.mean(dim=(-2, -1), keepdim=True))
    out = []
    for period in PERIODS_PX:
        f0, sigma = 1.0 / period, RELATIVE_BANDWIDTH / period
        per_angle = []
        for k in range(ORIENTATIONS):
            angle = np.pi * k / ORIENTATIONS
            passband = torch.exp(-((fy - f0 * np.sin(angle)) ** 2 + (fx - f0 * np.cos(angle)) ** 2) / (2 * sigma**2))
            per_angle.append(torch.fft.ifft2(spectrum * passband).abs() ** 2)
        out.append(torch.stack(per_angle, dim=2))
    return torch.stack(out, dim=2)


def fine_cue(images: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) in [0,1] -> (B,16,H,W): per period luminance log energy, strongest orientation's share, chroma
    log energy; the strongest filter's share of the luminance bank."""
    e = gabor_energy(opponent(images))  # (B,3,P,O,H,W)
    b, c, p, o, h, w = e.shape
    e = ops.box_mean(e.reshape(b, c * p * o, h, w), WINDOW).reshape(b, c, p, o, h, w)
    luma = e[:, 0]  # (B,P,O,H,W)
    luma_total = luma.sum(2)
    share = luma.amax(2) / (luma_total + 1e-10)
    chroma = e[:, 1:].sum(dim=(1, 3))
    peak = luma.flatten(1, 2).amax(1, keepdim=True) / (luma_total.sum(1, keepdim=True) + 1e-10)
    return torch.cat([torch.log(luma_total + 1e-10), share, torch.log(chroma + 1e-10), peak], dim=1)


@torch.no_grad()
def pixel_table(metric: torch.nn.Module, shards: str, samples: int) -> dict[str, np.ndarray]:
    """Per sampled pixel of moiré and clean canvases: canvas index, finer fringe period, metric map, cue, target."""
    data = ShardDataset(shards)
    rows: dict[str, list[np.ndarray]] = {"canvas": [], "period": [], "model": [], "cue": [], "target": []}
    s = slice(None, None, PIXEL_STEP)
    for i, rec in enumerate(data.records[:samples]):
        label = int(rec.meta["label_index"])
        if label not in (0, MOIRE):
            continue
        image = read_member(rec.path, rec.image, rec.image_format)
        mask = read_member(rec.path, rec.mask, "png")
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None] / 255.0
        maps = metric(x, return_maps=True).maps[0, ARTIFACT_CLASSES.index("moire")]
        cue = fine_cue(x)
        valid = (mask != 128)[s, s]
        n = int(valid.sum())
        params = rec.meta["params"]
        period = min(params["period_px"], params["row_period_px"]) if label else np.inf
        rows["canvas"].append(np.full(n, i))
        rows["period"].append(np.full(n, period))
        rows["model"].append(maps[s, s].numpy()[valid])
        rows["cue"].append(cue[0][:, s, s].numpy()[:, valid].T)
        rows["target"].append((mask == 255)[s, s][valid])
    return {k: np.concatenate(v) for k, v in rows.items()}


def held_out_scores(features: np.ndarray, target: np.ndarray, canvas: np.ndarray) -> tuple[float, np.ndarray]:
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
    parser.add_argument("--weights", help="trained head weights (default: the shipped ipad_clip weights)")
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    extra = {"head_weights": args.weights} if args.weights else {}
    metric = pyiqa.create_metric("ipad_clip", device="cpu", **extra)
    table = pixel_table(metric, args.val_shards, args.samples)
    model_feature = table["model"][:, None]
    sets = {"model": model_feature, "cue": table["cue"], "model+cue": np.hstack([model_feature, table["cue"]])}
    fine = table["period"] <= FINE_PERIOD_PX
    keep_fine = fine | np.isinf(table["period"])
    result: dict[str, object] = {"samples": args.samples, "pixels": int(len(table["target"])),
                                 "positives": int(table["target"].sum()),
                                 "fine_canvases": int(len(np.unique(table["canvas"][fine]))),
                                 "fine_positives": int((table["target"] & fine).sum()),
                                 "raw_model_auroc": auroc(table["model"], table["target"]),
                                 "fine_raw_model_auroc": auroc(table["model"][keep_fine], table["target"][keep_fine])}
    for name, feats in sets.items():
        result[name], scores = held_out_scores(feats, table["target"], table["canvas"])
        result[f"fine_{name}"] = auroc(scores[keep_fine], table["target"][keep_fine])
    result["gain"] = result["model+cue"] - result["model"]
    result["fine_gain"] = result["fine_model+cue"] - result["fine_model"]
    write_results("fine_cue_probe", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
