"""Does a fixed local-spectrum cue carry moiré evidence that the shipped maps lack? A stacking probe.

Moiré is a narrow-band, strongly oriented fringe, often coloured (a sensor's colour filter array aliases it). The
cue, computed on the image and not learned, describes each pixel's neighbourhood by its band-pass energy in four
octave bands (periods about 2-32 px) of luminance and of two opponent chroma channels, each luminance band's share
of the total, how single-oriented each band is (structure-tensor coherence), and the spectral baseline's
peak-energy share. Per pixel of the validation canvases (every 4th row and column, the ignore band left out),
gradient-boosted trees are fitted on the even-indexed canvases and scored on the odd ones and the reverse, with
(a) the shipped metric's moiré map, (b) the cue, (c) both; moiré canvases' visible pixels are the positives, every
other valid pixel of moiré and clean canvases the negatives. If (c) beats (a), the cue holds evidence the model
does not extract. Writes ``benchmarks/results/moire_cue_probe.json``.

    python benchmarks/moire_cue_probe.py --val-shards VAL_SHARDS [--samples 256] [--weights W]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pyiqa
import torch
import torch.nn.functional as F
from common import write_results
from sklearn.ensemble import HistGradientBoostingClassifier

import ipad_iqa  # noqa: F401  (registers the metrics)
from ipad_iqa.baselines import ops
from ipad_iqa.baselines.spectral import SpectralPeakDetector
from ipad_iqa.data.shards import ShardDataset, read_member
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS

SIGMAS: tuple[float, ...] = (0.0, 0.7, 1.4, 2.8, 5.6)  # band k lies between blurs SIGMAS[k] and SIGMAS[k+1]
WINDOW = 15
PIXEL_STEP = 4
FINE_PERIOD_PX = 9.8  # the lowest tercile of val fringe periods (scale row of the History page)
MOIRE = LABELS.index("moire")


def opponent(images: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB -> (B,3,H,W): luminance, red-green, yellow-blue."""
    r, g, b = images.unbind(1)
    return torch.stack([ops.luminance(images)[:, 0], r - g, (r + g) / 2 - b], dim=1)


def coherence(band: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) -> (B,1,H,W) in [0,1]: 1 where the band's local gradients share one orientation."""
    gy = F.pad(band[..., 2:, :] - band[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
    gx = F.pad(band[..., :, 2:] - band[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
    jxx, jyy, jxy = (ops.box_mean(v, WINDOW) for v in (gx * gx, gy * gy, gx * gy))
    return ((jxx - jyy) ** 2 + 4 * jxy**2).sqrt() / (jxx + jyy + 1e-8)


def spectrum_cue(images: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) in [0,1] -> (B,21,H,W): 12 log band energies, 4 luminance shares, 4 coherences, 1 peak share."""
    x = opponent(images)
    blurred = [x if s == 0 else ops.gaussian_blur(x, s) for s in SIGMAS]
    bands = [fine - coarse for fine, coarse in zip(blurred[:-1], blurred[1:], strict=True)]
    energy = [ops.box_mean(b * b, WINDOW) for b in bands]  # each (B,3,H,W)
    luma = torch.cat([e[:, :1] for e in energy], dim=1)
    channels = [torch.log(torch.cat(energy, dim=1) + 1e-8), luma / (luma.sum(1, keepdim=True) + 1e-8)]
    channels.append(torch.cat([coherence(b[:, :1]) for b in bands], dim=1))
    peak = SpectralPeakDetector().moire_map(images)
    channels.append(ops.resize(peak, images.shape[-2:]))
    return torch.cat(channels, dim=1)


@torch.no_grad()
def pixel_table(metric: torch.nn.Module, shards: str, samples: int) -> dict[str, np.ndarray]:
    """Per sampled pixel of moiré and clean canvases: canvas index, fringe period, metric map, cue, target."""
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
        cue = spectrum_cue(x)
        valid = (mask != 128)[s, s]
        n = int(valid.sum())
        rows["canvas"].append(np.full(n, i))
        rows["period"].append(np.full(n, rec.meta["params"]["period_px"] if label else np.inf))
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
                                 "fine_positives": int((table["target"] & fine).sum()),
                                 "raw_model_auroc": auroc(table["model"], table["target"])}
    for name, feats in sets.items():
        result[name], scores = held_out_scores(feats, table["target"], table["canvas"])
        result[f"fine_{name}"] = auroc(scores[keep_fine], table["target"][keep_fine])
    result["gain"] = result["model+cue"] - result["model"]
    result["fine_gain"] = result["fine_model+cue"] - result["fine_model"]
    write_results("moire_cue_probe", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
