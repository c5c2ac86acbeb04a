"""Where a method's scores lie, per label: the level a user would threshold, which AUROC does not show.

    python docs/scripts/score_levels.py --benchmark /work/data/ipad_synth_v1 --split test \
        --report /work/reports/v10_tiles_test ipad_clip 'ipad_clip[class_token_view=global]'

Reads the cached predictions of an ``ipad-iqa evaluate`` report folder and prints, per method and label, the
number of images and the mean, median and 10th-90th percentiles of the score (1 = no local artifact).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import benchmark_items
from ipad_iqa.output import LABELS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, required=True, help="the benchmark folder that was evaluated")
    parser.add_argument("--split", required=True)
    parser.add_argument("--report", type=Path, required=True, help="the --out folder of that evaluation")
    parser.add_argument("methods", nargs="+")
    args = parser.parse_args()

    samples = benchmark_items(args.benchmark, args.split)
    print("| method | label | images | mean | median | 10th-90th percentile |")
    print("|---|---|---:|---:|---:|---|")
    for method in args.methods:
        cache = PredictionCache(args.report / "cache", method)
        missing = [s.key for s in samples if not cache.has(s.key)]
        if missing:
            raise SystemExit(f"{method}: {len(missing)} images not in {args.report / 'cache'} (first: "
                             f"{missing[0]}); run ipad-iqa evaluate with this method first")
        scores = np.array([cache.load(s.key).score for s in samples])
        labels = np.array([s.label for s in samples])
        for k, name in enumerate(LABELS):
            x = scores[labels == k]
            if x.size:
                lo, hi = np.percentile(x, [10, 90])
                print(f"| {method} | {name} | {x.size} | {x.mean():.3f} | {np.median(x):.3f} | {lo:.3f}-{hi:.3f} |")


if __name__ == "__main__":
    main()
