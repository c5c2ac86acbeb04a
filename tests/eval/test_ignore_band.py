"""The ignore band of IPAD-Synth v2 masks (128 = uncertain) is left out of both sides of every pixel metric."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import average_precision_score, roc_auc_score

from ipad_iqa.data.perceptual import mask_levels
from ipad_iqa.eval.metrics import BenchmarkAccumulator, MetricsConfig, PixelAccumulator
from ipad_iqa.eval.metrics import functional as F


def brute_force_aupro(maps: np.ndarray, masks: np.ndarray, ignore: np.ndarray, fpr_limit: float = 0.3) -> float:
    """PRO by thresholding at every distinct score, counting only pixels outside ``ignore``."""
    keep = ~ignore
    regions = []
    for i, m in enumerate(masks & keep):
        lab, n = ndimage.label(m, structure=np.ones((3, 3)))
        regions += [(i, lab == r) for r in range(1, n + 1)]
    neg = ~masks & keep
    points = [(0.0, 0.0)]
    for t in np.unique(maps[keep])[::-1]:
        pred = maps >= t
        points.append(((pred & neg).sum() / neg.sum(), np.mean([(pred[i] & r).sum() / r.sum() for i, r in regions])))
    x, y = map(np.array, zip(*points, strict=True))
    y_lim = np.interp(fpr_limit, x, y)
    sel = x <= fpr_limit
    x, y = np.r_[x[sel], fpr_limit], np.r_[y[sel], y_lim]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) / fpr_limit)


@pytest.fixture()
def case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maps, masks and an ignore band around each mask region, where the maps are deliberately wrong."""
    rng = np.random.default_rng(4)
    masks = np.zeros((4, 24, 24), bool)
    for m in masks:
        r, c = rng.integers(2, 14, 2)
        m[r:r + 6, c:c + 5] = True
    ring = np.stack([ndimage.binary_dilation(m, iterations=2) & ~m for m in masks])
    maps = np.round(np.clip(0.3 * rng.random(masks.shape) + 0.5 * masks, 0, 1), 3)
    maps[ring] = rng.choice([0.0, 1.0], size=int(ring.sum()))  # band pixels would change every metric
    return maps, masks, ring


def test_exact_metrics_drop_ignored_pixels(case) -> None:
    maps, masks, ring = case
    keep = ~ring
    assert F.auroc(maps, masks, ring) == pytest.approx(roc_auc_score(masks[keep], maps[keep]))
    assert F.average_precision(maps, masks, ring) == pytest.approx(average_precision_score(masks[keep], maps[keep]))
    assert F.auroc(maps, masks) != pytest.approx(F.auroc(maps, masks, ring))
    assert F.aupro(maps, masks, ignore=ring) == pytest.approx(brute_force_aupro(maps, masks, ring), abs=1e-9)
    best = max(2 * ((maps[keep] >= t) & masks[keep]).sum() / ((maps[keep] >= t).sum() + masks[keep].sum())
               for t in np.unique(maps[keep]))
    assert F.f1_max(maps, masks, ring) == pytest.approx(best)


def test_streaming_accumulator_matches_exact_with_ignore(case) -> None:
    maps, masks, ring = case
    acc = PixelAccumulator(MetricsConfig(n_bins=2**16))
    for m, g, ig in zip(maps, masks, ring, strict=True):
        acc.update(m, g, ig)
    got = acc.compute()
    assert got["pixel_auroc"] == pytest.approx(F.auroc(maps, masks, ring), abs=1e-4)
    assert got["aupro"] == pytest.approx(F.aupro(maps, masks, ignore=ring), abs=1e-3)
    assert got["pixel_ap"] == pytest.approx(F.average_precision(maps, masks, ring), abs=1e-3)
    assert got["pixel_f1_max"] == pytest.approx(F.f1_max(maps, masks, ring), abs=1e-3)


def test_benchmark_accumulator_passes_the_band_through(case) -> None:
    maps, masks, ring = case
    with_band, without = BenchmarkAccumulator(), BenchmarkAccumulator()
    for m, g, ig in zip(maps, masks, ring, strict=True):
        stack = np.stack([m, m, m])
        with_band.update(2, 0.2, np.array([0.1, 0.8, 0.1]), stack, g, 0.5, ig)
        without.update(2, 0.2, np.array([0.1, 0.8, 0.1]), stack, g, 0.5)
        with_band.update(0, 0.9, np.array([0.1, 0.1, 0.1]), stack * 0.2, None)
        without.update(0, 0.9, np.array([0.1, 0.1, 0.1]), stack * 0.2, None)
    assert with_band.compute()["flare"]["pixel_auroc"] != pytest.approx(without.compute()["flare"]["pixel_auroc"])


def test_mask_levels_read_both_versions() -> None:
    v2 = np.array([[0, 128, 255]], np.uint8)
    visible, ignore = mask_levels(v2)
    assert visible.tolist() == [[False, False, True]] and ignore.tolist() == [[False, True, False]]
    visible, ignore = mask_levels(np.array([[0, 255]], np.uint8))
    assert visible.tolist() == [[False, True]] and not ignore.any()
