"""Pure numpy metric functions.

Every ranking metric here is computed from *cumulative counts at descending thresholds*: for each threshold,
how much positive weight and negative weight scores at or above it. The exact functions build those counts
from sorted scores; the streaming accumulators (``streaming.py``) build them from fixed histograms. Sharing
the last step means the binned and exact versions can only differ by the binning itself.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: 8-connectivity, the convention of the MVTec PRO definition.
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    # Written out because np.trapezoid only exists from numpy 2.0 and np.trapz is gone in later releases.
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) * 0.5))


def cumulative_counts(
    scores: np.ndarray, pos_weight: np.ndarray, neg_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative positive/negative weight at each distinct score, highest score first.

    Ties share one threshold, so tied positives and negatives enter the curve together (a diagonal step),
    which is what makes constant scores give AUROC 0.5.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or inf")
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    tp = np.cumsum(np.asarray(pos_weight, dtype=np.float64).ravel()[order])
    fp = np.cumsum(np.asarray(neg_weight, dtype=np.float64).ravel()[order])
    last_of_group = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1] if s.size else np.array([], int)
    return tp[last_of_group], fp[last_of_group]


def auroc_from_counts(tp: np.ndarray, fp: np.ndarray) -> float | None:
    """Trapezoidal area under the ROC curve; ``None`` when one class is absent."""
    if tp.size == 0 or tp[-1] <= 0 or fp[-1] <= 0:
        return None
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    return _trapezoid(tpr, fpr)


def ap_from_counts(tp: np.ndarray, fp: np.ndarray) -> float | None:
    """Average precision as scikit-learn defines it: sum of (R_n - R_{n-1}) * P_n, no interpolation."""
    if tp.size == 0 or tp[-1] <= 0:
        return None
    recall_step = np.diff(np.r_[0.0, tp]) / tp[-1]
    denom = tp + fp
    precision = np.divide(tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(np.sum(recall_step * precision))


def f1max_from_counts(tp: np.ndarray, fp: np.ndarray) -> float | None:
    """Best F1 over all thresholds: 2 TP / (TP + FP + P)."""
    if tp.size == 0 or tp[-1] <= 0:
        return None
    return float(np.max(2.0 * tp / (tp + fp + tp[-1])))


def pro_auc_from_counts(pro_cum: np.ndarray, fp: np.ndarray, n_regions: float, fpr_limit: float) -> float | None:
    """Area under PRO(FPR) for FPR in [0, fpr_limit], divided by ``fpr_limit`` so a perfect detector gets 1.

    ``pro_cum`` holds, per threshold, the sum over regions of the detected fraction of each region; dividing
    by ``n_regions`` gives the mean per-region overlap. The curve is linearly interpolated at ``fpr_limit``.
    """
    if n_regions <= 0 or fp.size == 0 or fp[-1] <= 0:
        return None
    fpr = np.r_[0.0, fp / fp[-1]]
    pro = np.r_[0.0, pro_cum / n_regions]
    keep = fpr <= fpr_limit
    x, y = fpr[keep], pro[keep]
    if x[-1] < fpr_limit:
        nxt = np.argmax(fpr > fpr_limit)  # first point beyond the limit (exists since fpr ends at 1)
        t = (fpr_limit - fpr[nxt - 1]) / (fpr[nxt] - fpr[nxt - 1])
        x = np.r_[x, fpr_limit]
        y = np.r_[y, pro[nxt - 1] + t * (pro[nxt] - pro[nxt - 1])]
    return _trapezoid(y, x) / fpr_limit


def region_weights(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-pixel weight 1/area of its connected GT region (0 outside), and the number of regions."""
    labels, n = ndimage.label(np.asarray(mask, dtype=bool), structure=EIGHT_CONNECTED)
    if n == 0:
        return np.zeros(labels.shape, dtype=np.float64), 0
    areas = np.bincount(labels.ravel())
    inv = np.zeros(n + 1, dtype=np.float64)
    inv[1:] = 1.0 / areas[1:]
    return inv[labels], n


def binary_weights(labels: np.ndarray, ignore: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative weights (1/0) of binary labels, for ``cumulative_counts``; ``ignore`` (same shape)
    marks items that count on neither side (the ignore band of IPAD-Synth v2 masks)."""
    y = np.asarray(labels).ravel().astype(bool)
    keep = np.ones_like(y) if ignore is None else ~np.asarray(ignore, dtype=bool).ravel()
    return (y & keep).astype(np.float64), (~y & keep).astype(np.float64)


def auroc(scores: np.ndarray, labels: np.ndarray, ignore: np.ndarray | None = None) -> float | None:
    """Exact ROC AUC of binary ``labels`` (1 = positive) ranked by ``scores``, leaving out ``ignore``."""
    return auroc_from_counts(*cumulative_counts(scores, *binary_weights(labels, ignore)))


def average_precision(scores: np.ndarray, labels: np.ndarray, ignore: np.ndarray | None = None) -> float | None:
    """Exact average precision (scikit-learn's definition), leaving out ``ignore``."""
    return ap_from_counts(*cumulative_counts(scores, *binary_weights(labels, ignore)))


def f1_max(scores: np.ndarray, labels: np.ndarray, ignore: np.ndarray | None = None) -> float | None:
    """Exact best F1 over all thresholds, leaving out ``ignore``."""
    return f1max_from_counts(*cumulative_counts(scores, *binary_weights(labels, ignore)))


def aupro(maps: np.ndarray, masks: np.ndarray, fpr_limit: float = 0.3, ignore: np.ndarray | None = None
          ) -> float | None:
    """Exact AUPRO of (N, H, W) score maps against binary masks; regions are per image, 8-connected.

    ``ignore`` (N, H, W) pixels count neither in a region nor as false positives. Holds every pixel in memory:
    meant for small data and as the reference for the streaming version.
    """
    maps = np.asarray(maps, dtype=np.float64)
    masks = np.asarray(masks, dtype=bool)
    if maps.shape != masks.shape or maps.ndim != 3:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} must both be (N, H, W)")
    keep = np.ones_like(masks) if ignore is None else ~np.asarray(ignore, dtype=bool)
    masks = masks & keep
    weights, n_regions = np.zeros(maps.shape), 0
    for i, m in enumerate(masks):
        weights[i], n = region_weights(m)
        n_regions += n
    tp, fp = cumulative_counts(maps, weights, (~masks & keep).astype(np.float64))
    return pro_auc_from_counts(tp, fp, n_regions, fpr_limit)
