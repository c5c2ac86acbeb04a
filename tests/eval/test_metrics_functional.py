"""Exact metric functions against scikit-learn and a brute-force AUPRO."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from ipad_iqa.eval.metrics import functional as F


def brute_force_aupro(maps: np.ndarray, masks: np.ndarray, fpr_limit: float = 0.3) -> float:
    """PRO by thresholding at every distinct score, one threshold at a time (slow, obviously correct)."""
    regions = []
    for i, m in enumerate(masks):
        lab, n = ndimage.label(m, structure=np.ones((3, 3)))
        regions += [(i, lab == r) for r in range(1, n + 1)]
    neg = ~masks
    points = [(0.0, 0.0)]
    for t in np.unique(maps)[::-1]:
        pred = maps >= t
        fpr = (pred & neg).sum() / neg.sum()
        pro = np.mean([(pred[i] & r).sum() / r.sum() for i, r in regions])
        points.append((fpr, pro))
    x, y = map(np.array, zip(*points, strict=True))
    y_lim = np.interp(fpr_limit, x, y)
    keep = x <= fpr_limit
    x, y = np.r_[x[keep], fpr_limit], np.r_[y[keep], y_lim]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) / fpr_limit)


def blob_masks(rng: np.random.Generator, n: int, size: int = 24) -> np.ndarray:
    masks = np.zeros((n, size, size), dtype=bool)
    for m in masks:
        for _ in range(rng.integers(0, 3)):
            r, c = rng.integers(0, size - 6, 2)
            h, w = rng.integers(1, 6, 2)
            m[r:r + h, c:c + w] = True
    return masks


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("quantize", [False, True])
def test_exact_image_metrics_match_sklearn(seed: int, quantize: bool) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(300) < 0.3
    s = rng.random(300) + 0.7 * y
    if quantize:  # many ties
        s = np.round(s * 8) / 8
    assert F.auroc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert F.average_precision(s, y) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    p, r, _ = precision_recall_curve(y, s)
    f1 = np.max(np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0))
    assert F.f1_max(s, y) == pytest.approx(f1, abs=1e-12)


def test_hand_made_cases() -> None:
    y = np.array([0, 0, 1, 1])
    assert F.auroc(np.array([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert F.auroc(np.array([0.9, 0.8, 0.2, 0.1]), y) == 0.0
    assert F.auroc(np.full(4, 0.3), y) == 0.5
    assert F.average_precision(np.array([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert F.f1_max(np.array([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert F.auroc(np.array([0.1, 0.2]), np.array([1, 1])) is None  # one class only
    assert F.average_precision(np.array([0.1, 0.2]), np.array([0, 0])) is None
    with pytest.raises(ValueError):
        F.auroc(np.array([np.nan, 0.2]), np.array([0, 1]))


def two_region_case() -> tuple[np.ndarray, np.ndarray]:
    """Region A: 1 px, detected at t=1. Region B: 3 px, 1 detected at t=1. 10 negatives, 3 at 0.5.

    PRO(t=1) = (1 + 1/3) / 2 = 2/3 at FPR 0; t=0.5 adds FPR 0.3 at the same PRO. AUPRO@0.3 = 2/3
    (pixel recall would be 2/4 = 0.5, so this also checks the per-region averaging).
    """
    mask = np.zeros((2, 7), dtype=bool)
    mask[0, 0] = True
    mask[0, 3:5] = True
    mask[1, 4] = True
    score = np.zeros((2, 7))
    score[0, 0] = score[0, 3] = 1.0
    score[1, [0, 1, 6]] = 0.5
    return score[None], mask[None]


def test_aupro_two_regions_hand_derived() -> None:
    maps, masks = two_region_case()
    assert F.aupro(maps, masks) == pytest.approx(2 / 3, abs=1e-12)
    assert brute_force_aupro(maps, masks) == pytest.approx(2 / 3, abs=1e-12)


def test_aupro_perfect_inverted_and_empty() -> None:
    masks = blob_masks(np.random.default_rng(3), 6)
    masks[0, 2:5, 2:5] = True
    assert F.aupro(masks.astype(float), masks) == pytest.approx(1.0)
    assert F.aupro(1.0 - masks, masks) == pytest.approx(0.0)
    assert F.aupro(np.zeros((1, 4, 4)), np.zeros((1, 4, 4), bool)) is None


def test_regions_are_eight_connected() -> None:
    mask = np.zeros((3, 3), dtype=bool)
    mask[0, 0] = mask[1, 1] = mask[1, 2] = True
    w, n = F.region_weights(mask)
    assert n == 1
    assert np.allclose(w[mask], 1 / 3)


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_aupro_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    masks = blob_masks(rng, 5, 16)
    maps = np.clip(rng.random(masks.shape) * 0.8 + 0.3 * masks, 0, 1)
    maps = np.round(maps * 40) / 40  # ties too
    assert F.aupro(maps, masks) == pytest.approx(brute_force_aupro(maps, masks), abs=1e-10)
