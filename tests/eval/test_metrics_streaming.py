"""Streaming (binned) metrics against exact references, chunking invariance and the per-class protocol."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ipad_iqa.eval.metrics import BenchmarkAccumulator, MetricsConfig, PixelAccumulator, severity_bins
from ipad_iqa.eval.metrics import functional as F

_spec = importlib.util.spec_from_file_location("_functional_tests", Path(__file__).with_name("test_metrics_functional.py"))
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)


def random_maps(seed: int, n: int = 6, size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    masks = _ref.blob_masks(rng, n, size)
    maps = np.clip(rng.random(masks.shape) * 0.7 + 0.35 * masks, 0, 1)
    return maps, masks


@pytest.mark.parametrize("seed", [0, 1])
def test_binned_pixel_metrics_close_to_references(seed: int) -> None:
    maps, masks = random_maps(seed)
    acc = PixelAccumulator(MetricsConfig(n_bins=2**16))
    acc.update(maps, masks)
    got = acc.compute()
    y, s = masks.ravel(), maps.ravel()
    # Binning only merges scores closer than 1/n_bins: errors of order 1e-4 at 2^16 bins.
    assert got["pixel_auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-3)
    assert got["pixel_ap"] == pytest.approx(average_precision_score(y, s), abs=2e-3)
    assert got["pixel_f1_max"] == pytest.approx(F.f1_max(s, y), abs=2e-3)
    assert got["aupro"] == pytest.approx(_ref.brute_force_aupro(maps, masks), abs=2e-3)


def test_binned_equals_exact_on_bin_edges() -> None:
    maps, masks = random_maps(4)
    maps = np.round(maps * 64) / 64  # every score sits on a bin edge of 2^10 bins: binning loses nothing
    acc = PixelAccumulator(MetricsConfig(n_bins=2**10))
    acc.update(maps, masks)
    got = acc.compute()
    assert got["pixel_auroc"] == pytest.approx(F.auroc(maps, masks), abs=1e-12)
    assert got["pixel_ap"] == pytest.approx(F.average_precision(maps, masks), abs=1e-12)
    assert got["pixel_f1_max"] == pytest.approx(F.f1_max(maps, masks), abs=1e-12)
    assert got["aupro"] == pytest.approx(F.aupro(maps, masks), abs=1e-12)


def test_coarse_bins_are_less_exact() -> None:
    """The tolerance above is earned by the bin count: 4 bins cannot resolve these scores."""
    maps, masks = random_maps(5)
    coarse = PixelAccumulator(MetricsConfig(n_bins=4))
    coarse.update(maps, masks)
    assert abs(coarse.compute()["pixel_auroc"] - F.auroc(maps, masks)) > 1e-3


def test_two_region_case_binned() -> None:
    maps, masks = _ref.two_region_case()
    acc = PixelAccumulator()
    acc.update(maps, masks)
    assert acc.compute()["aupro"] == pytest.approx(2 / 3, abs=1e-12)


@pytest.mark.parametrize("chunks", [[1] * 6, [2, 4], [6], [3, 1, 2]])
def test_streaming_is_chunk_invariant(chunks: list[int]) -> None:
    maps, masks = random_maps(7)
    one = PixelAccumulator()
    one.update(maps, masks)
    acc, start = PixelAccumulator(), 0
    for n in chunks:
        acc.update(maps[start:start + n], masks[start:start + n])
        start += n
    a, b = one.compute(), acc.compute()
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-12)


def test_benchmark_protocol() -> None:
    """Class-k pixel metrics see only class-k and clean images; image metrics rank class-k vs clean."""
    rng = np.random.default_rng(0)
    size = 16
    records = []  # (label, maps, mask, probs)
    for label in [0, 0, 0, 1, 1, 2, 2, 3]:
        mask = np.zeros((size, size), bool)
        if label:
            mask[4:9, 5:11] = True
        maps = rng.random((3, size, size)) * 0.6
        if label:
            maps[label - 1][mask] += 0.4
        probs = rng.random(3)
        records.append((label, maps, mask, probs))
    acc = BenchmarkAccumulator()
    for label, maps, mask, probs in records:
        acc.update(label, 1 - probs.max(), probs, maps, mask)
    res = acc.compute()
    assert set(res) == {"ghosting", "flare", "moire", "mean", "any"}
    for k, c in enumerate(("ghosting", "flare", "moire")):
        sel = [r for r in records if r[0] in (0, k + 1)]
        m = np.stack([r[1][k] for r in sel])
        g = np.stack([r[2] if r[0] else np.zeros_like(r[2]) for r in sel])
        assert res[c]["pixel_auroc"] == pytest.approx(roc_auc_score(g.ravel(), m.ravel()), abs=1e-3)
        assert res[c]["aupro"] == pytest.approx(F.aupro(m, g), abs=2e-3)
        y = np.array([r[0] == k + 1 for r in sel])
        s = np.array([r[3][k] for r in sel])
        assert res[c]["image_auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert res["mean"]["pixel_ap"] == pytest.approx(np.mean([res[c]["pixel_ap"] for c in ("ghosting", "flare", "moire")]))
    any_y = np.array([r[0] > 0 for r in records])
    any_s = np.array([r[3].max() for r in records])
    assert res["any"]["image_auroc"] == pytest.approx(roc_auc_score(any_y, any_s), abs=1e-12)
    assert res["any"]["pixel_auroc"] is None


def test_other_classes_do_not_leak_and_image_only_mode() -> None:
    size = 8
    mask = np.zeros((size, size), bool)
    mask[2:5, 2:5] = True
    clean = np.zeros((3, size, size))
    ghost = np.zeros((3, size, size))
    ghost[0][mask] = 1.0
    flare_all_ghost = np.ones((3, size, size))  # a flare image whose ghosting map fires everywhere
    acc = BenchmarkAccumulator()
    acc.update(0, 1.0, np.zeros(3), clean)
    acc.update(1, 0.0, np.array([1.0, 0, 0]), ghost, mask)
    acc.update(2, 0.0, np.array([1.0, 1.0, 0]), flare_all_ghost, mask)
    res = acc.compute()
    assert res["ghosting"]["pixel_auroc"] == 1.0 and res["ghosting"]["aupro"] == pytest.approx(1.0)
    assert res["moire"]["image_auroc"] is None  # no moire images
    img_only = BenchmarkAccumulator(pixel=False)
    img_only.update(0, 1.0, np.zeros(3))
    img_only.update(1, 0.0, np.array([1.0, 0, 0]))
    out = img_only.compute()
    assert out["ghosting"]["pixel_auroc"] is None and out["ghosting"]["image_auroc"] == 1.0


def _severity_records(seed: int) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, float | None]]:
    """(label, maps, mask, probs, severity): strong artifacts are found, weak ones are not."""
    rng = np.random.default_rng(seed)
    size, records = 12, []
    for i in range(40):
        label = i % 4
        severity = None if label == 0 else float(rng.random())
        mask = np.zeros((size, size), bool)
        maps, probs = rng.random((3, size, size)) * 0.5, rng.random(3) * 0.5
        if label:
            y, x = rng.integers(0, size - 4, 2)
            mask[y: y + 4, x: x + 4] = True
            if severity > 0.5:  # visible: the map and the probability of its class rise
                maps[label - 1][mask] += 0.5
                probs[label - 1] += 0.5
        records.append((label, maps, mask, probs, severity))
    return records


def test_severity_bin_names_and_edges() -> None:
    assert severity_bins((0.0, 1 / 3, 2 / 3, 1.0)) == ["[0.00, 0.33)", "[0.33, 0.67)", "[0.67, 1.00]"]
    acc = BenchmarkAccumulator(MetricsConfig(severity_edges=(0.0, 0.5, 1.0)), pixel=False)
    acc.update(0, 1.0, np.zeros(3))
    for severity in (0.0, 0.5, 1.0, 0.49):
        acc.update(3, 0.0, np.array([0, 0, 1.0]), severity=severity)
    acc.update(3, 0.0, np.array([0, 0, 1.0]), severity=None)  # in the class metrics, in no bin
    counts = {b: v["n_images"] for b, v in acc.by_severity()["moire"].items()}
    assert counts == {"[0.00, 0.50)": 2, "[0.50, 1.00]": 2}
    assert acc.compute()["moire"]["image_auroc"] == 1.0
    with pytest.raises(ValueError, match="severity nan"):
        acc.update(3, 0.0, np.zeros(3), severity=float("nan"))


def test_by_severity_equals_an_accumulator_of_that_bin_alone() -> None:
    records = _severity_records(0)
    acc, plain = BenchmarkAccumulator(), BenchmarkAccumulator()
    for label, maps, mask, probs, severity in records:
        acc.update(label, 1 - probs.max(), probs, maps, mask, severity)
        plain.update(label, 1 - probs.max(), probs, maps, mask)
    overall, ref = acc.compute(), plain.compute()
    for c in ("ghosting", "flare", "moire", "mean", "any"):  # the bins do not change the class metrics
        for m, v in ref[c].items():
            assert overall[c][m] == pytest.approx(v, abs=1e-12)
    edges = MetricsConfig().severity_edges
    by_sev = acc.by_severity()
    for k, c in enumerate(("ghosting", "flare", "moire")):
        for i, name in enumerate(severity_bins(edges)):
            alone = BenchmarkAccumulator()
            n = 0
            for label, maps, mask, probs, severity in records:
                in_bin = label == k + 1 and edges[i] <= severity < (edges[i + 1] if i < len(edges) - 2 else 2)
                if label == 0 or in_bin:
                    alone.update(label, 1 - probs.max(), probs, maps, mask)
                    n += in_bin
            want = alone.compute()[c]
            got = by_sev[c][name]
            assert got["n_images"] == n
            for m in ("pixel_auroc", "aupro", "image_auroc", "image_ap"):
                assert got[m] == pytest.approx(want[m], abs=1e-12), (c, name, m)
    # strong artifacts were made findable, weak ones not: the breakdown shows it
    top, low = by_sev["flare"]["[0.67, 1.00]"], by_sev["flare"]["[0.00, 0.33)"]
    assert top["pixel_auroc"] == 1.0 and top["image_auroc"] == 1.0
    assert low["pixel_auroc"] < 0.7


def test_merging_pixel_accumulators_of_other_bins_is_refused() -> None:
    coarse = PixelAccumulator(MetricsConfig(n_bins=16))
    with pytest.raises(ValueError, match="different bins"):
        PixelAccumulator.merged(MetricsConfig(), [coarse])


def test_by_subtype_equals_an_accumulator_of_that_subtype_alone() -> None:
    """Subtypes cut across severity bins; classes without them (here moire) have no breakdown."""
    records = _severity_records(1)
    kinds = {1: ("motion", "reflection", "optical"), 2: ("day", "night"), 3: (None,)}
    kind_of = [None if label == 0 else kinds[label][(i // 4) % len(kinds[label])]
               for i, (label, *_) in enumerate(records)]
    acc = BenchmarkAccumulator()
    for (label, maps, mask, probs, severity), kind in zip(records, kind_of, strict=True):
        acc.update(label, 1 - probs.max(), probs, maps, mask, severity, subtype=kind)
    by_kind = acc.by_subtype()
    assert set(by_kind) == {"ghosting", "flare"}
    assert list(by_kind["ghosting"]) == sorted(kinds[1]) and list(by_kind["flare"]) == ["day", "night"]
    for k, c in ((0, "ghosting"), (1, "flare")):
        for name in by_kind[c]:
            alone = BenchmarkAccumulator()
            for (label, maps, mask, probs, _), kind in zip(records, kind_of, strict=True):
                if label == 0 or (label == k + 1 and kind == name):
                    alone.update(label, 1 - probs.max(), probs, maps, mask)
            want, got = alone.compute()[c], by_kind[c][name]
            assert got["n_images"] == sum(kind == name for kind in kind_of)
            for m in ("pixel_auroc", "aupro", "image_auroc", "image_ap"):
                assert got[m] == pytest.approx(want[m], abs=1e-12), (c, name, m)
