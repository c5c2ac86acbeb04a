"""One-off diagnosis (#25): which moiré images do the maps miss whole? From an evaluation's prediction cache
(``ipad-iqa evaluate --benchmark B --split S --methods M --out DIR``): an image is missed when the median of its
moiré map over its visible fringes lies below the 90th percentile of the moiré maps of every clean image (the
measure of ``moire_within.py``). Reports the share missed among the moiré images showing >= 3 % of the frame,
split in two at a value of each synthesis parameter, and among those showing less. Writes
``benchmarks/results/moire_missed_<DIR name>.json``.

    python benchmarks/moire_missed.py BENCH EVAL_DIR [--split val] [--method ipad_clip]
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
from ipad_iqa.io import read_size

MOIRE = 3  # label index of moiré (clean, ghosting, flare, moire)
MOIRE_MAP = MOIRE - 1  # its map channel (ghosting, flare, moire)
MIN_VISIBLE = 0.03
SPLITS = {"main fringe period_px <= 8": lambda p: p["period_px"] <= 8, "row_amount < 0.2": lambda p: p["row_amount"] < 0.2,
          "chroma < 0.5": lambda p: p["chroma"] < 0.5, "cfa": lambda p: bool(p["cfa"]),
          "local screen": lambda p: bool(p["local"]), "isp_sigma < 0.4": lambda p: p["isp_sigma"] < 0.4}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("eval", type=Path)
    ap.add_argument("--split", default="val")
    ap.add_argument("--method", default="ipad_clip")
    args = ap.parse_args(argv)
    rows = {r.key: r for r in read_manifest(args.bench, args.split)}
    cache = PredictionCache(args.eval / "cache", args.method)
    clean, images = [], []
    for s in benchmark_items(args.bench, args.split):
        if s.label == 0:
            clean.append(cache.load(s.key).maps_at(read_size(s.path))[MOIRE_MAP][::4, ::4].ravel())
        elif s.label == MOIRE:
            mask, ignore = read_mask(s.mask)
            maps = cache.load(s.key).maps_at(mask.shape)[MOIRE_MAP]
            inside = maps[mask & ~ignore] if ignore is not None else maps[mask]
            images.append((float(np.median(inside)), float(mask.mean()), rows[s.key].params))
    p90 = float(np.percentile(np.concatenate(clean), 90))

    def share(group: list[tuple[float, float, dict]]) -> dict[str, float]:
        return {"n": len(group), "missed": round(float(np.mean([lv < p90 for lv, _, _ in group])), 3)}

    shown = [im for im in images if im[1] >= MIN_VISIBLE]
    result: dict[str, object] = {"eval": str(args.eval), "clean_p90": round(p90, 4), "all": share(images),
                                 f"visible < {MIN_VISIBLE}": share([im for im in images if im[1] < MIN_VISIBLE]),
                                 f"visible >= {MIN_VISIBLE}": share(shown)}
    for name, test in SPLITS.items():
        result[name] = {"yes": share([im for im in shown if test(im[2])]),
                        "no": share([im for im in shown if not test(im[2])])}
    write_results(f"moire_missed_{args.eval.name}", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
