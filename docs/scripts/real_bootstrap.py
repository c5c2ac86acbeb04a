"""How sure a difference on the real photos is: a paired bootstrap of two methods' image AUROC.

    python docs/scripts/real_bootstrap.py --real ../shared/data/real_val --report runs/results/real_val_real \
        ipad_clip winclip

Reads the cached predictions of two methods from an ``ipad-iqa evaluate --real`` report folder and, per class,
resamples the class-k photos and the clean references with replacement (the same draw for both methods) to
give the image AUROC of each method and the 95 % interval of their difference (first minus second). With a
few photos per class, differences whose interval spans 0 are not evidence either way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import real_samples
from ipad_iqa.eval.metrics import image_metrics
from ipad_iqa.output import ARTIFACT_CLASSES


def class_probs(report: Path, method: str, keys: list[str]) -> np.ndarray:
    cache = PredictionCache(report / "cache", method)
    missing = [k for k in keys if not cache.has(k)]
    if missing:
        raise SystemExit(f"{method}: {len(missing)} photos not in {report / 'cache'} (first: {missing[0]}); "
                         "run ipad-iqa evaluate --real with this method first")
    return np.stack([cache.load(k).class_probs for k in keys])


def auroc(scores: np.ndarray, idx: np.ndarray, positive: np.ndarray) -> float:
    """Image AUROC of the photos ``idx`` (with repeats) whose labels are ``positive``."""
    return image_metrics(scores[idx], positive)["image_auroc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True, help="the folder of real photos that was evaluated")
    parser.add_argument("--report", type=Path, required=True, help="the --out folder of that evaluation")
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    samples = real_samples(args.real)
    labels = np.array([s.label for s in samples])
    probs = [class_probs(args.report, m, [s.key for s in samples]) for m in (args.first, args.second)]
    rng = np.random.default_rng(args.seed)
    print(f"| class | photos / references | {args.first} | {args.second} | difference, 95 % interval |")
    print("|---|---:|---:|---:|---|")
    for k, cls in enumerate(ARTIFACT_CLASSES):
        pos, neg = np.flatnonzero(labels == k + 1), np.flatnonzero(labels == 0)
        if not (pos.size and neg.size):  # no AUROC without both kinds of photo
            print(f"| {cls} | {pos.size} / {neg.size} | n/a | n/a | n/a |")
            continue
        y = np.r_[np.ones(pos.size, bool), np.zeros(neg.size, bool)]
        full = [auroc(p[:, k], np.r_[pos, neg], y) for p in probs]
        diffs = []
        for _ in range(args.draws):
            idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
            diffs.append(auroc(probs[0][:, k], idx, y) - auroc(probs[1][:, k], idx, y))
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        print(f"| {cls} | {pos.size} / {neg.size} | {full[0]:.3f} | {full[1]:.3f} | "
              f"{full[0] - full[1]:+.3f} [{lo:+.3f}, {hi:+.3f}] |")


if __name__ == "__main__":
    main()
