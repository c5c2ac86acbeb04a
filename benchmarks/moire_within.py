"""One-off diagnosis (#25): do the moiré maps miss fine fringes, or see them and score them lower than coarse
ones? From an evaluation's prediction cache (``ipad-iqa evaluate --benchmark B --split S --methods M --out DIR``),
per quartile of the finer fringe period of the moiré images: the median and first quartile of the within-image
pixel AUROC of the moiré map (visible pixels against the image's other valid pixels: localisation, blind to the
map's level) and the share of images below 0.75; the median map level inside and outside the mask and the share
of images whose level inside is below the 90th percentile of the moiré map over every clean image's pixels
(reported, with its 50th and 99th, for scale); and, per image of the finest quartile, its level inside the mask
beside its synthesis parameters, lowest first. Writes ``benchmarks/results/moire_within_<DIR name>.json``.

    python benchmarks/moire_within.py BENCH EVAL_DIR [--split val] [--method ipad_clip]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from common import write_results

from ipad_iqa.data.benchmark import read_manifest, read_mask
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import benchmark_items
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.io import read_size

MOIRE = 3  # label index of moiré (clean, ghosting, flare, moire)
MOIRE_MAP = MOIRE - 1  # its map channel (ghosting, flare, moire)
BINS = 4


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("eval", type=Path)
    ap.add_argument("--split", default="val")
    ap.add_argument("--method", default="ipad_clip")
    args = ap.parse_args(argv)
    rows = {r.key: r for r in read_manifest(args.bench, args.split)}
    period = {k: min(r.params["period_px"], r.params["row_period_px"]) for k, r in rows.items() if r.label == "moire"}
    edges = np.quantile(list(period.values()), np.linspace(0, 1, BINS + 1))
    names = [f"{lo:.1f}-{hi:.1f} px" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    cache = PredictionCache(args.eval / "cache", args.method)
    per_bin: dict[str, dict[str, list[float]]] = {n: {"within": [], "inside": [], "outside": []} for n in names}
    clean: list[np.ndarray] = []
    finest: list[dict[str, float]] = []
    for s in benchmark_items(args.bench, args.split):
        if s.label not in (0, MOIRE):
            continue
        p = cache.load(s.key)
        mask, ignore = read_mask(s.mask) if s.mask else (None, None)
        maps = p.maps_at(mask.shape if mask is not None else read_size(s.path))[MOIRE_MAP]
        if s.label == 0:
            clean.append(maps[::4, ::4].ravel())
            continue
        name = names[min(int(np.searchsorted(edges, period[s.key], side="right")) - 1, BINS - 1)]
        valid = ~ignore if ignore is not None else np.ones_like(mask, dtype=bool)
        pos, neg = maps[valid & mask], maps[valid & ~mask]
        if len(pos) and len(neg):
            target = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
            per_bin[name]["within"].append(auroc(np.r_[pos, neg], target))
        per_bin[name]["inside"].append(float(np.median(pos)) if len(pos) else np.nan)
        per_bin[name]["outside"].append(float(np.median(neg)) if len(neg) else np.nan)
        if name == names[0]:
            prm = rows[s.key].params
            finest.append({"level_inside": round(float(np.median(pos)), 3) if len(pos) else np.nan,
                           "visible_share": round(float(mask.mean()), 3), "severity": rows[s.key].severity,
                           **{k: round(float(prm[k]), 2) for k in ("period_px", "row_period_px", "row_amount",
                                                                  "amplitude", "chroma", "isp_sigma")}})
    levels = np.concatenate(clean)
    result = {"bench": str(args.bench), "split": args.split, "eval": str(args.eval), "method": args.method,
              "clean_map_percentiles_50_90_99": np.percentile(levels, [50, 90, 99]).round(4).tolist(),
              "bins": {n: {"n_images": len(v["inside"]),
                           "median_within_image_auroc": round(float(np.nanmedian(v["within"])), 4),
                           "quartile1_within_image_auroc": round(float(np.nanpercentile(v["within"], 25)), 4),
                           "share_within_below_0.75": round(float(np.mean(np.array(v["within"]) < 0.75)), 4),
                           "share_inside_level_below_clean_p90": round(float(np.mean(
                               np.array(v["inside"]) < np.percentile(levels, 90))), 4),
                           "median_level_inside_mask": round(float(np.nanmedian(v["inside"])), 4),
                           "median_level_outside_mask": round(float(np.nanmedian(v["outside"])), 4)}
                       for n, v in per_bin.items()},
              "finest_bin_images": sorted(finest, key=lambda r: r["level_inside"])}
    write_results(f"moire_within_{args.eval.name}", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
