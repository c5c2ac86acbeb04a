"""Does a fixed glare cue carry flare evidence that the shipped maps lack? A stacking probe.

Flare is light a lens scatters around a bright source: halo and veil lift the darkest channel and flatten local
contrast with distance from the source. The cue (``ipad_iqa.model.cues.GlareCue``, computed on the image, not
learned) describes each stride-4 cell by the density of near-saturated pixels at three reaches, Weber contrast,
the dark channel and the relative log luminance at two, and whether the luminance falls off away from the lights.
Per pixel of the validation canvases (every 4th row and column, the ignore band left out), gradient-boosted trees
are fitted on the even-indexed canvases and scored on the odd ones and the reverse, with (a) the shipped metric's
flare map, (b) the cue, (c) both; flare canvases' visible pixels are the positives, every other valid pixel of
flare and clean canvases (which carry plain scene lights at rate 0.5) the negatives. If (c) beats (a), the cue
holds evidence the model does not extract. Writes ``benchmarks/results/glare_cue_probe.json``.

    python benchmarks/glare_cue_probe.py --val-shards VAL_SHARDS [--samples 256] [--weights W]
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
from ipad_iqa.data.shards import ShardDataset, read_member
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.model.cues import GlareCue
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS

PIXEL_STEP = 4  # the cue's stride: one sample per cell
FLARE = LABELS.index("flare")


@torch.no_grad()
def pixel_table(metric: torch.nn.Module, shards: str, samples: int) -> dict[str, np.ndarray]:
    """Per sampled pixel of flare and clean canvases: canvas index, metric map, cue, target."""
    data = ShardDataset(shards)
    cue = GlareCue(stride=PIXEL_STEP)
    rows: dict[str, list[np.ndarray]] = {"canvas": [], "model": [], "cue": [], "target": []}
    s = slice(None, None, PIXEL_STEP)
    for i, rec in enumerate(data.records[:samples]):
        if int(rec.meta["label_index"]) not in (0, FLARE):
            continue
        image = read_member(rec.path, rec.image, rec.image_format)
        mask = read_member(rec.path, rec.mask, "png")
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None] / 255.0
        maps = metric(x, return_maps=True).maps[0, ARTIFACT_CLASSES.index("flare")]
        cells = cue(x)[0]  # (C, ceil(H/4), ceil(W/4)): cell (i, j) is pixel (4i, 4j) of the sampled grid
        valid = (mask != 128)[s, s]
        n = int(valid.sum())
        rows["canvas"].append(np.full(n, i))
        rows["model"].append(maps[s, s].numpy()[valid])
        rows["cue"].append(cells.numpy()[:, valid].T)
        rows["target"].append((mask == 255)[s, s][valid])
    return {k: np.concatenate(v) for k, v in rows.items()}


def held_out_scores(features: np.ndarray, target: np.ndarray, canvas: np.ndarray) -> float:
    """Mean of the two held-out AUROCs (fit on even canvases, score odd ones, and the reverse)."""
    results = []
    for part in (0, 1):
        fit, test = canvas % 2 == part, canvas % 2 != part
        clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, random_state=0)
        clf.fit(features[fit], target[fit])
        results.append(auroc(clf.predict_proba(features[test])[:, 1], target[test]))
    return float(np.mean(results))


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
    result: dict[str, object] = {"samples": args.samples, "pixels": int(len(table["target"])),
                                 "positives": int(table["target"].sum()),
                                 "raw_model_auroc": auroc(table["model"], table["target"])}
    for name, feats in sets.items():
        result[name] = held_out_scores(feats, table["target"], table["canvas"])
    result["gain"] = result["model+cue"] - result["model"]
    write_results("glare_cue_probe", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
