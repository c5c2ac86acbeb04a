"""Run methods over a benchmark split or folders of real photos; stream metrics; cache predictions.

Memory stays bounded: images are loaded batch by batch, maps go to the cache downsampled, and metrics are
accumulated per image from the cached record (see ``cache.py``) into fixed-size histograms.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ipad_iqa.data.benchmark import read_manifest, read_mask
from ipad_iqa.data.sources import IMAGE_SUFFIXES
from ipad_iqa.eval.cache import Prediction, PredictionCache
from ipad_iqa.eval.metrics import BenchmarkAccumulator, MetricsConfig, image_metrics
from ipad_iqa.io import load_image, read_size
from ipad_iqa.methods import split_method
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run. ``checkpoints``: method name -> checkpoint path, for trained methods.

    A method ``NAME[key=value,...]`` is NAME with inference-time arch overrides (see ``ipad_iqa.methods``).
    """

    methods: tuple[str, ...]
    out: Path
    device: str = "cpu"
    batch_size: int = 4
    limit: int | None = None
    map_side: int = 256  # long side of the cached maps; metrics are computed from them
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    checkpoints: dict[str, str] = field(default_factory=dict)
    progress: bool = True


@dataclass(frozen=True)
class EvalItem:
    """An image to score. ``key`` (path relative to the data root) names it in the cache."""

    key: str
    path: Path
    label: int
    mask: Path | None = None
    reference: Path | None = None  # clean source for full-reference methods
    twin: str | None = None  # real mode: key shared by an artifact photo and its clean reference
    severity: float | None = None  # benchmark artifact images: the synthesis severity in [0, 1]
    subtype: str | None = None  # benchmark artifact images: the subtype drawn (ManifestRow.subtype)


@dataclass
class MethodRun:
    """What one method produced: metrics, curves, timing and cache statistics."""

    metrics: dict[str, dict[str, float | None]]
    curves: dict = field(default_factory=dict)
    by_severity: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)  # benchmark only
    by_subtype: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)  # benchmark only
    cpu_s_per_image: float | None = None
    wall_s_per_image: float | None = None
    n_images: int = 0
    n_predicted: int = 0
    n_cached: int = 0
    n_skipped: int = 0  # full-reference methods: images without a reference (n/a)
    has_maps: bool = True
    classes: tuple[str, ...] = ARTIFACT_CLASSES


def _interleave(samples: list[EvalItem]) -> list[EvalItem]:
    """Round-robin over labels, so ``--limit N`` keeps every class."""
    by_label = [[s for s in samples if s.label == k] for k in range(len(LABELS))]
    out = []
    for i in range(max(map(len, by_label), default=0)):
        out += [group[i] for group in by_label if i < len(group)]
    return out


def benchmark_items(root: Path, split: str) -> list[EvalItem]:
    """The images of ``split`` of a written benchmark, labels interleaved, with the clean reference of each image
    where one exists (``data.benchmark.ManifestRow.reference``): without one, full-reference methods report the
    image as n/a."""
    return _interleave([EvalItem(key=r.key, path=r.image, label=LABELS.index(r.label), mask=r.mask,
                                 reference=r.reference, severity=r.severity if r.label != "clean" else None,
                                 subtype=r.subtype)
                        for r in read_manifest(root, split)])


_REFERENCE = re.compile(r"(^|_)(gt|clean)$", re.IGNORECASE)
_REFERENCE_DIRS = {"blurresize", "gt", "clean", "reference", "references"}
_PAIR_SUFFIX = re.compile(r"_(gt|clean|moire|input|target)$", re.IGNORECASE)


def real_items(root: Path) -> list[EvalItem]:
    """Photos under ``root/<class>/...``; references (``*_GT*`` names or a ``blurresize/`` folder) are clean.

    Twins share (class folder, dataset folder, stem without a ``_GT``/``_Moire``-like suffix), which pairs
    ``res_1_GT``/``res_1_Moire`` and ``blurresize/0001``/``moireresize/0001``.
    """
    samples = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        parts = path.relative_to(root).parts
        if parts[0] not in ARTIFACT_CLASSES:
            continue
        is_ref = bool(_REFERENCE.search(path.stem)) or any(p.lower() in _REFERENCE_DIRS for p in parts[1:-1])
        twin = "/".join((*parts[:2], _PAIR_SUFFIX.sub("", path.stem))) if len(parts) > 2 else None
        samples.append(EvalItem(key=path.relative_to(root).as_posix(), path=path,
                              label=0 if is_ref else ARTIFACT_CLASSES.index(parts[0]) + 1, twin=twin))
    return samples


class LazyDetector:
    """Builds the detector on first use, so a method fully served from the cache never loads its model.

    Its ``has_maps``/``classes`` are remembered in the cache folder for the same reason.
    """

    def __init__(self, method: str, config: EvalConfig) -> None:
        from ipad_iqa.baselines import DetectorConfig, method_fingerprint

        self.method, self.config = method, config
        ckpts = config.checkpoints  # "NAME[options]" falls back to the checkpoint of NAME
        self.detector_config = DetectorConfig(config.device, ckpts.get(method, ckpts.get(split_method(method)[0])))
        self.cache = PredictionCache(config.out / "cache", method, config.map_side,
                                     fingerprint=method_fingerprint(method, self.detector_config))
        self._detector = None

    def get(self):
        if self._detector is None:
            from ipad_iqa.baselines import build_detector

            self._detector = build_detector(self.method, self.detector_config)
            self.cache.write_info(self._detector.has_maps, tuple(self._detector.classes))
        return self._detector

    def info(self) -> tuple[bool, tuple[str, ...]]:
        """(has_maps, classes)."""
        info = self.cache.read_info()
        if info is None:
            det = self.get()
            return det.has_maps, tuple(det.classes)
        return info


def predictions(lazy: LazyDetector, samples: Sequence[EvalItem], run: MethodRun
                ) -> Iterator[tuple[EvalItem, Prediction]]:
    """Cached or fresh predictions in sample order (images without a needed reference are skipped)."""
    from tqdm import tqdm

    config, cache = lazy.config, lazy.cache
    pending: list[tuple[EvalItem, torch.Tensor, torch.Tensor | None]] = []

    def flush() -> Iterator[tuple[EvalItem, Prediction]]:
        detector = lazy.get()
        images = torch.stack([p[1] for p in pending])
        refs = torch.stack([p[2] for p in pending]) if detector.needs_reference else None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        out = detector.predict(images, refs)
        if torch.device(config.device).type == "cuda":
            torch.cuda.synchronize()
        preds = cache.store([p[0].key for p in pending], out, time.process_time() - cpu0, time.perf_counter() - wall0)
        run.n_predicted += len(pending)
        yield from zip([p[0] for p in pending], preds, strict=True)
        pending.clear()

    for s in tqdm(samples, desc=lazy.method, unit="img", disable=not config.progress):
        if cache.has(s.key):
            run.n_cached += 1
            yield s, cache.load(s.key)
            continue
        needs_ref = lazy.get().needs_reference
        image = load_image(s.path)
        ref = load_image(s.reference) if needs_ref and s.reference is not None else None
        if needs_ref and (ref is None or ref.shape != image.shape):
            run.n_skipped += 1
            continue
        if pending and (pending[0][1].shape != image.shape or len(pending) >= config.batch_size):
            yield from flush()
        pending.append((s, image, ref))
    if pending:
        yield from flush()


def _restrict(run: MethodRun) -> None:
    """n/a for classes the method does not address; ``mean``/``any`` only for three-class methods."""
    partial = set(run.classes) != set(ARTIFACT_CLASSES)
    for name, values in run.metrics.items():
        if name not in run.classes and (partial or name in ARTIFACT_CLASSES):
            run.metrics[name] = dict.fromkeys(values)
    for breakdown in (run.by_severity, run.by_subtype):
        for name, bins in breakdown.items():
            if name not in run.classes:  # keep the image counts: they describe the data, not the method
                breakdown[name] = {b: dict.fromkeys(v) | {"n_images": v["n_images"]} for b, v in bins.items()}


def _finish_timing(run: MethodRun, cpu: list[float], wall: list[float]) -> None:
    run.n_images = len(cpu)
    run.cpu_s_per_image = float(np.mean(cpu)) if cpu else None
    run.wall_s_per_image = float(np.mean(wall)) if wall else None


def evaluate_benchmark(root: Path, split: str, config: EvalConfig) -> dict[str, MethodRun]:
    """Every method on ``split`` of the benchmark at ``root``."""
    samples = benchmark_items(Path(root), split)[: config.limit]
    runs = {}
    for method in config.methods:
        lazy = LazyDetector(method, config)
        run = MethodRun(metrics={})
        run.has_maps, run.classes = lazy.info()
        acc = BenchmarkAccumulator(config.metrics, pixel=run.has_maps)
        cpu, wall = [], []
        for s, p in predictions(lazy, samples, run):
            mask, ignore = read_mask(s.mask) if s.mask else (None, None)
            maps = None
            if run.has_maps:
                size = mask.shape if mask is not None else read_size(s.path)
                maps = p.maps_at(size)
            acc.update(s.label, p.score, p.class_probs, maps, mask, s.severity, ignore, s.subtype)
            cpu.append(p.cpu_s)
            wall.append(p.wall_s)
        run.metrics, run.curves = acc.compute(), acc.curves()
        run.by_severity, run.by_subtype = acc.by_severity(), acc.by_subtype()
        _restrict(run)
        _finish_timing(run, cpu, wall)
        runs[method] = run
    return runs


def real_metrics(samples: Sequence[EvalItem], preds: Sequence[Prediction]) -> dict[str, dict[str, float | None]]:
    """Image-level metrics on real photos, per class k, by ``class_probs[k]``.

    ``image_auroc``/``image_ap``: class-k photos vs clean references. ``image_auroc_vs_all``: class-k photos vs
    every other photo (references and other classes). ``pair_win_rate``: over (class-k photo, its reference
    twin) pairs, the fraction where the photo scores higher (ties count half); ``n_pairs`` their number.
    """
    labels = np.array([s.label for s in samples])
    probs = np.stack([p.class_probs for p in preds]) if preds else np.zeros((0, 3))
    refs = {s.twin: i for i, s in enumerate(samples) if s.label == 0 and s.twin}
    out = {}
    for k, c in enumerate(ARTIFACT_CLASSES):
        pos, sel = labels == k + 1, (labels == 0) | (labels == k + 1)
        m = image_metrics(probs[sel, k], pos[sel])
        wins = [float(probs[i, k] > probs[refs[s.twin], k]) + 0.5 * float(probs[i, k] == probs[refs[s.twin], k])
                for i, s in enumerate(samples) if pos[i] and s.twin in refs]
        out[c] = {"image_auroc": m["image_auroc"], "image_ap": m["image_ap"],
                  "image_auroc_vs_all": image_metrics(probs[:, k], pos)["image_auroc"],
                  "pair_win_rate": float(np.mean(wins)) if wins else None, "n_pairs": len(wins)}
    return out


def evaluate_real(root: Path, config: EvalConfig) -> dict[str, MethodRun]:
    """Every method on folders of real photos (image level only)."""
    samples = real_items(Path(root))[: config.limit]
    runs = {}
    for method in config.methods:
        lazy = LazyDetector(method, config)
        run = MethodRun(metrics={})
        run.has_maps, run.classes = lazy.info()
        got = list(predictions(lazy, samples, run))
        run.metrics = real_metrics([s for s, _ in got], [p for _, p in got])
        _restrict(run)
        _finish_timing(run, [p.cpu_s for _, p in got], [p.wall_s for _, p in got])
        runs[method] = run
    return runs
