"""Streaming accumulators: benchmark metrics in bounded memory.

A benchmark of 4,000 images at 512 px holds 1e9 pixel scores, so pixel metrics are accumulated in fixed
histograms over [0, 1] (positives, negatives, and region-normalised positives for PRO). Histograms add, so
the result does not depend on how the data is chunked. Image-level scores are few and kept exactly.

Per-class protocol (``BenchmarkAccumulator``), for each class k in ``ARTIFACT_CLASSES``:

* pixel metrics use the class-k map of images labelled k or clean; positives are the class-k mask pixels,
  negatives every other pixel of those images (all pixels of clean images). Images of other artifact
  classes are left out, so a ghosting map is not penalised for firing on a flare.
* image metrics rank class-k images (positives) against clean images (negatives) by ``class_probs[:, k]``.
* ``mean`` averages each metric over the classes where it is defined.
* ``any`` (image metrics only) ranks every artifact image against clean ones by ``1 - score``.

Severity and subtype breakdowns (``BenchmarkAccumulator.by_severity``, ``by_subtype``): the same per-class
protocol with the class-k images restricted to one severity bin, or to one subtype of the artifact (a ghosting
mode, a day or night flare), and every clean image kept, so a bin's AUROC answers "how well are artifacts of this
strength (this subtype) told from clean images". Pixel histograms are kept per (severity bin, subtype) group and
added on demand, so the breakdowns cost no second pass over the maps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ipad_iqa.eval.metrics import functional as F
from ipad_iqa.output import ARTIFACT_CLASSES

PIXEL_METRICS: tuple[str, ...] = ("pixel_auroc", "aupro", "pixel_ap", "pixel_f1_max")
IMAGE_METRICS: tuple[str, ...] = ("image_auroc", "image_ap", "image_f1_max")
ALL_METRICS: tuple[str, ...] = PIXEL_METRICS + IMAGE_METRICS

Metrics = dict[str, float | None]


@dataclass(frozen=True)
class MetricsConfig:
    """How pixel metrics are binned.

    With ``n_bins`` uniform bins, two scores closer than 1/n_bins count as tied; 2^16 keeps the binned metrics
    within about 1e-4 of the exact ones for maps that use the [0, 1] range.
    """

    n_bins: int = 2**16
    fpr_limit: float = 0.3
    #: Edges of the severity bins of ``BenchmarkAccumulator.by_severity`` (severities lie in [0, 1]).
    severity_edges: tuple[float, ...] = (0.0, 1 / 3, 2 / 3, 1.0)


class PixelAccumulator:
    """Histogram accumulator for pixel AUROC, AUPRO, pixel AP and pixel F1-max of one score map channel."""

    def __init__(self, config: MetricsConfig = MetricsConfig()) -> None:
        self.config = config
        self.pos = np.zeros(config.n_bins, dtype=np.float64)
        self.neg = np.zeros(config.n_bins, dtype=np.float64)
        self.pro = np.zeros(config.n_bins, dtype=np.float64)  # sum over regions of 1/area per pixel
        self.n_regions = 0

    def _bins(self, scores: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(scores)):
            raise ValueError("score map contains NaN or inf")
        n = self.config.n_bins
        return np.clip((scores * n).astype(np.int64), 0, n - 1)

    def update(self, maps: np.ndarray, masks: np.ndarray, ignore: np.ndarray | None = None) -> None:
        """Add one (H, W) map or a batch (B, H, W) with binary masks of the same shape; ``ignore`` (same shape)
        pixels count on neither side (the ignore band of IPAD-Synth v2 masks)."""
        maps = np.asarray(maps, dtype=np.float64)
        masks = np.asarray(masks, dtype=bool)
        keep = np.ones_like(masks) if ignore is None else ~np.asarray(ignore, dtype=bool)
        if maps.shape != masks.shape or keep.shape != masks.shape:
            raise ValueError(f"map {maps.shape}, mask {masks.shape} and ignore {keep.shape} differ")
        if maps.ndim == 2:
            maps, masks, keep = maps[None], masks[None], keep[None]
        n = self.config.n_bins
        for m, g, k in zip(maps, masks & keep, keep, strict=True):
            idx = self._bins(m)
            self.pos += np.bincount(idx[g], minlength=n)
            self.neg += np.bincount(idx[~g & k], minlength=n)
            if g.any():
                w, n_reg = F.region_weights(g)
                self.pro += np.bincount(idx[g], weights=w[g], minlength=n)
                self.n_regions += n_reg

    @classmethod
    def merged(cls, config: MetricsConfig, parts: Sequence[PixelAccumulator]) -> PixelAccumulator:
        """One accumulator holding every pixel of ``parts`` (histograms add); all must share ``config``."""
        out = cls(config)
        for part in parts:
            if part.config != out.config:
                raise ValueError("cannot merge pixel accumulators with different bins")
            out.pos += part.pos
            out.neg += part.neg
            out.pro += part.pro
            out.n_regions += part.n_regions
        return out

    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cumulative (tp, fp, pro) at bin lower edges, highest bin first."""
        return np.cumsum(self.pos[::-1]), np.cumsum(self.neg[::-1]), np.cumsum(self.pro[::-1])

    def compute(self) -> Metrics:
        tp, fp, pro = self.counts()
        return {
            "pixel_auroc": F.auroc_from_counts(tp, fp),
            "aupro": F.pro_auc_from_counts(pro, fp, self.n_regions, self.config.fpr_limit),
            "pixel_ap": F.ap_from_counts(tp, fp),
            "pixel_f1_max": F.f1max_from_counts(tp, fp),
        }


def image_metrics(scores: np.ndarray, labels: np.ndarray) -> Metrics:
    """Exact image AUROC, AP and F1-max (few thousand scores, no binning needed)."""
    tp, fp = F.cumulative_counts(scores, *F.binary_weights(labels))
    return {
        "image_auroc": F.auroc_from_counts(tp, fp),
        "image_ap": F.ap_from_counts(tp, fp),
        "image_f1_max": F.f1max_from_counts(tp, fp),
    }


def roc_pr_points(tp: np.ndarray, fp: np.ndarray, max_points: int = 1000) -> dict[str, np.ndarray]:
    """ROC (fpr, tpr) and PR (recall, precision) points for plotting, thinned to ``max_points``."""
    if tp.size == 0 or tp[-1] <= 0 or fp[-1] <= 0:
        return {}
    keep = np.unique(np.linspace(0, tp.size - 1, min(tp.size, max_points)).astype(int))
    tp, fp = tp[keep], fp[keep]
    denom = np.maximum(tp + fp, 1e-12)
    return {"fpr": np.r_[0.0, fp / fp[-1]], "tpr": np.r_[0.0, tp / tp[-1]],
            "recall": tp / tp[-1], "precision": tp / denom}


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def severity_bins(edges: Sequence[float]) -> list[str]:
    """Names of the bins between consecutive ``edges``: ``[0.00, 0.33)``, ..., the last one closed."""
    return [f"[{lo:.2f}, {hi:.2f}{']' if i == len(edges) - 2 else ')'}"
            for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))]


#: What ``BenchmarkAccumulator.by_severity`` reports per class and bin (plus ``n_images``).
SEVERITY_METRICS: tuple[str, ...] = ("pixel_auroc", "aupro", "image_auroc", "image_ap")
_CLEAN, _UNKNOWN = "clean", "unknown"  # severity groups besides the bins
Group = tuple[str, str | None]  # (severity bin, subtype) of an image; clean images are (_CLEAN, None)


class BenchmarkAccumulator:
    """All metrics of one method on one benchmark split, per class, ``mean`` and ``any`` (see module doc).

    ``pixel=False`` is for image-level-only detectors: their pixel metrics are reported as ``None`` (n/a).
    """

    def __init__(self, config: MetricsConfig = MetricsConfig(), pixel: bool = True) -> None:
        self.config = config
        self.pixel = pixel
        self._bin_names = severity_bins(config.severity_edges)
        # class -> group -> pixels: group (clean, None) holds the clean images, the others the class-k images of
        # one severity bin ("unknown": no severity given) and subtype. A class's pixel metrics merge all its groups.
        self._pix: dict[str, dict[Group, PixelAccumulator]] = {c: {} for c in ARTIFACT_CLASSES}
        self._labels: list[int] = []
        self._probs: list[np.ndarray] = []
        self._scores: list[float] = []
        self._groups: list[Group] = []

    def _bin(self, label: int, severity: float | None) -> str:
        if label == 0:
            return _CLEAN
        if severity is None:
            return _UNKNOWN
        if not np.isfinite(severity):
            raise ValueError(f"severity {severity} is not a finite number")
        edges = self.config.severity_edges
        i = int(np.searchsorted(edges, severity, side="right")) - 1
        return self._bin_names[min(max(i, 0), len(self._bin_names) - 1)]

    def _pixels(self, cls: str, group: Group) -> PixelAccumulator:
        """The group's accumulator, made on first use only (``setdefault`` would build three histograms of
        ``n_bins`` per call and throw them away)."""
        if group not in self._pix[cls]:
            self._pix[cls][group] = PixelAccumulator(self.config)
        return self._pix[cls][group]

    def update(self, label: int, score: float, class_probs: np.ndarray,
               maps: np.ndarray | None = None, mask: np.ndarray | None = None,
               severity: float | None = None, ignore: np.ndarray | None = None, subtype: str | None = None
               ) -> None:
        """Add one image. ``label``: 0 clean, k+1 for ``ARTIFACT_CLASSES[k]``; ``maps`` (3, H, W);
        ``mask`` (H, W) of the labelled class (ignored for clean images); ``severity`` in [0, 1] of an artifact
        image, for ``by_severity`` (``None``: counted in the class metrics, in no bin); ``ignore`` (H, W): the
        mask's ignore band, left out of every pixel metric; ``subtype``: the artifact's subtype, for
        ``by_subtype`` (``None``: in none)."""
        if not 0 <= label <= len(ARTIFACT_CLASSES):
            raise ValueError(f"label {label} out of range")
        group = (self._bin(label, severity), None if label == 0 else subtype)
        self._labels.append(int(label))
        self._scores.append(float(score))
        self._probs.append(np.asarray(class_probs, dtype=np.float64).reshape(len(ARTIFACT_CLASSES)))
        self._groups.append(group)
        if not self.pixel:
            return
        if maps is None:
            raise ValueError("maps are required when pixel metrics are accumulated")
        if label == 0:
            empty = np.zeros(maps.shape[-2:], dtype=bool)
            for k, c in enumerate(ARTIFACT_CLASSES):
                self._pixels(c, group).update(maps[k], empty)
        else:
            if mask is None:
                raise ValueError("artifact images need a mask")
            self._pixels(ARTIFACT_CLASSES[label - 1], group).update(maps[label - 1], mask, ignore)

    def _merged(self, cls: str, keep: Callable[[Group], bool] | None = None) -> PixelAccumulator:
        """The pixels of ``cls`` in the groups ``keep`` accepts (default: all of them)."""
        parts = [acc for g, acc in self._pix[cls].items() if keep is None or keep(g)]
        return PixelAccumulator.merged(self.config, parts)

    def _image_sets(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(scores, binary labels) of each image-level comparison."""
        labels = np.asarray(self._labels, dtype=int)
        probs = np.asarray(self._probs).reshape(-1, len(ARTIFACT_CLASSES))
        sets = {}
        for k, c in enumerate(ARTIFACT_CLASSES):
            sel = (labels == 0) | (labels == k + 1)
            sets[c] = (probs[sel, k], labels[sel] == k + 1)
        sets["any"] = (1.0 - np.asarray(self._scores, dtype=np.float64), labels > 0)
        return sets

    def compute(self) -> dict[str, Metrics]:
        """class -> metric -> value (``None`` = not defined or n/a)."""
        out: dict[str, Metrics] = {}
        for name, (s, y) in self._image_sets().items():
            pix = self._merged(name).compute() if self.pixel and name in self._pix else None
            out[name] = {m: (pix[m] if pix else None) for m in PIXEL_METRICS} | image_metrics(s, y)
        out["mean"] = {m: _mean([out[c][m] for c in ARTIFACT_CLASSES]) for m in ALL_METRICS}
        return out

    def _breakdown(self, part: int, names: Callable[[int], Sequence[str]]) -> dict[str, dict[str, Metrics]]:
        """class -> name -> ``SEVERITY_METRICS`` and ``n_images``: the class-k images whose group has ``name``
        at position ``part`` (0 severity bin, 1 subtype), against every clean image, as in ``compute``."""
        labels = np.asarray(self._labels, dtype=int)
        tags = np.asarray([g[part] for g in self._groups], dtype=object)
        probs = np.asarray(self._probs).reshape(-1, len(ARTIFACT_CLASSES))
        out: dict[str, dict[str, Metrics]] = {}
        for k, c in enumerate(ARTIFACT_CLASSES):
            out[c] = {}
            for name in names(k):
                pos = (labels == k + 1) & (tags == name)
                sel = pos | (labels == 0)
                img = image_metrics(probs[sel, k], pos[sel])
                pix = (self._merged(c, lambda g, name=name: g[0] == _CLEAN or g[part] == name).compute()
                       if self.pixel else {})
                out[c][name] = {"n_images": int(pos.sum())} | {m: (pix | img).get(m) for m in SEVERITY_METRICS}
        return out

    def by_severity(self) -> dict[str, dict[str, Metrics]]:
        """class -> severity bin -> ``SEVERITY_METRICS`` and ``n_images`` (see ``_breakdown``)."""
        return self._breakdown(0, lambda k: self._bin_names)

    def by_subtype(self) -> dict[str, dict[str, Metrics]]:
        """class -> subtype -> ``SEVERITY_METRICS`` and ``n_images``, for the classes whose images have one."""
        def subtypes(k: int) -> list[str]:
            return sorted({g[1] for g, y in zip(self._groups, self._labels, strict=True)
                           if y == k + 1 and g[1] is not None})

        return {c: v for c, v in self._breakdown(1, subtypes).items() if v}

    def curves(self) -> dict[str, dict[str, dict[str, np.ndarray]]]:
        """class -> {"pixel", "image"} -> ROC/PR points, for plots."""
        out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
        for name, (s, y) in self._image_sets().items():
            out[name] = {"image": roc_pr_points(*F.cumulative_counts(s, *F.binary_weights(y)))}
            if self.pixel and name in self._pix:
                tp, fp, _ = self._merged(name).counts()
                out[name]["pixel"] = roc_pr_points(tp, fp)
        return out
