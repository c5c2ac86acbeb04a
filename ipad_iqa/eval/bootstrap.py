"""How sure a difference between two methods on the real photos is: a paired bootstrap of the image AUROC.

Real-photo sets are small (tens of photos per class), so a difference of a few hundredths of AUROC can be
chance. Per class, the class-k photos and the clean references are resampled with replacement, the same draw
for both methods, and the spread of the difference gives its 95 % interval: an interval spanning 0 is not
evidence either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import EvalItem
from ipad_iqa.eval.metrics import auroc as roc_auc
from ipad_iqa.output import ARTIFACT_CLASSES


def paired_auroc_difference(labels: np.ndarray, first: np.ndarray, second: np.ndarray, draws: int, seed: int = 0
                            ) -> dict[str, dict[str, float | int | None]]:
    """Per class k, over photos labelled k (positives) or 0 (clean references), ranked by the class-k
    probability of each method (``first``/``second``: (N, 3)): both AUROCs, their difference (first - second) and
    its 95 % interval; ``None`` where the class has no photos or no references."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, cls in enumerate(ARTIFACT_CLASSES):
        pos, neg = np.flatnonzero(labels == k + 1), np.flatnonzero(labels == 0)
        row: dict[str, float | int | None] = {"n_photos": int(pos.size), "n_references": int(neg.size)}
        if not (pos.size and neg.size):
            out[cls] = row | dict.fromkeys(("first", "second", "difference", "low", "high"))
            continue
        truth = np.r_[np.ones(pos.size, bool), np.zeros(neg.size, bool)]

        def auroc(probs: np.ndarray, idx: np.ndarray, k: int = k, truth: np.ndarray = truth) -> float:
            return roc_auc(probs[idx, k], truth)

        full = np.r_[pos, neg]
        diffs = []
        for _ in range(draws):
            idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
            diffs.append(auroc(first, idx) - auroc(second, idx))
        low, high = np.percentile(diffs, [2.5, 97.5])
        a, b = auroc(first, full), auroc(second, full)
        out[cls] = row | {"first": a, "second": b, "difference": a - b, "low": float(low), "high": float(high)}
    return out


def compare_caches(items: Sequence[EvalItem], caches: Mapping[str, PredictionCache], draws: int, seed: int = 0
                   ) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """``paired_auroc_difference`` of the first cache's predictions against each other one's, by name. Only
    photos both scored count (full-reference methods skip photos without a reference)."""
    names = list(caches)
    first, results = caches[names[0]], {}
    for name in names[1:]:
        other = caches[name]
        both = [s for s in items if first.has(s.key) and other.has(s.key)]
        probs = [np.stack([c.load(s.key).class_probs for s in both]) if both else np.zeros((0, 3))
                 for c in (first, other)]
        results[name] = paired_auroc_difference(np.array([s.label for s in both]), *probs, draws, seed)
    return results


def compare_cached(items: Sequence[EvalItem], cache_root: Path, methods: Sequence[str], draws: int, seed: int = 0
                   ) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """``compare_caches`` of the methods of one evaluation (its ``cache/`` folder): the first against each
    other one."""
    return compare_caches(items, {m: PredictionCache(cache_root, m) for m in methods}, draws, seed)
