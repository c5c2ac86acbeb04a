"""One-off measurement (rule 7a1675f): a method's moiré metrics on a benchmark split, the moiré images grouped by
the finer of their two synthesis fringe periods, read from an evaluation's prediction cache (``ipad-iqa evaluate
--benchmark B --split S --methods M --out DIR``). Per bin: pixel AUROC, AUPRO, image AUROC against every clean
image (the severity-breakdown protocol), the share of moiré images whose highest class is moiré, and the mean
visible share of the image in the masks. Writes ``benchmarks/results/moire_by_period_<DIR name>.json``.

    python benchmarks/moire_by_period.py BENCH EVAL_DIR [--split val] [--method ipad_clip] [--bins 4]
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
from ipad_iqa.eval.metrics import BenchmarkAccumulator
from ipad_iqa.io import read_size

MOIRE = 3  # label index of moiré (clean, ghosting, flare, moire)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("eval", type=Path, help="evaluate --out folder whose cache holds the method's predictions")
    ap.add_argument("--split", default="val")
    ap.add_argument("--method", default="ipad_clip")
    ap.add_argument("--bins", type=int, default=4)
    args = ap.parse_args(argv)
    rows = {r.key: r for r in read_manifest(args.bench, args.split)}
    items = benchmark_items(args.bench, args.split)
    period = {k: min(r.params["period_px"], r.params["row_period_px"]) for k, r in rows.items() if r.label == "moire"}
    edges = np.quantile(list(period.values()), np.linspace(0, 1, args.bins + 1))
    names = [f"{lo:.1f}-{hi:.1f} px" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]

    def bin_of(key: str) -> str:
        return names[min(int(np.searchsorted(edges, period[key], side="right")) - 1, args.bins - 1)]

    cache = PredictionCache(args.eval / "cache", args.method)
    acc = BenchmarkAccumulator()
    top, visible = {n: [] for n in names}, {n: [] for n in names}
    for s in items:
        p = cache.load(s.key)
        mask, ignore = read_mask(s.mask) if s.mask else (None, None)
        maps = p.maps_at(mask.shape if mask is not None else read_size(s.path))
        tag = bin_of(s.key) if s.key in period else None
        acc.update(s.label, p.score, p.class_probs, maps, mask, None, ignore, tag)
        if tag:
            top[tag].append(int(np.argmax(p.class_probs)) == MOIRE - 1)
            visible[tag].append(float(mask.mean()))
    moire = acc.by_subtype()["moire"]
    result = {"bench": str(args.bench), "split": args.split, "eval": str(args.eval), "method": args.method,
              "period": "min(period_px, row_period_px)", "edges_px": edges.tolist(),
              "bins": {n: moire[n] | {"moire_top_share": float(np.mean(top[n])),
                                      "visible_share": float(np.mean(visible[n]))} for n in names}}
    write_results(f"moire_by_period_{args.eval.name}", result)
    print(json.dumps(result["bins"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
