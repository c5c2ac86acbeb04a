"""On-the-fly synthesis for training (the reader of a written benchmark is ``benchmark.IPADBenchmark``)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ipad_iqa.data.pipeline import DEFAULT_FINISH, FinishConfig, load_photo, render_sample
from ipad_iqa.data.synth.ghosting import DEFAULT_MODE_PROBS, check_mode_probs, check_reflection_scene
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS


@dataclass(frozen=True)
class SynthDatasetConfig:
    """On-the-fly synthesis settings.

    A crop keeps its artifact label only if it holds at least ``min_mask_pixels`` mask pixels; otherwise it
    becomes a clean sample with an all-zero mask (the artifact is outside the crop, so calling it positive would
    teach the model to fire on untouched content).
    """

    canvas_sizes: tuple[int, int] = (256, 512)  # canvas side drawn uniformly in this range (inclusive)
    crop_size: int = 224
    class_probs: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25)  # clean, ghosting, flare, moire
    severity_range: tuple[float, float] = (0.0, 1.0)
    ghosting_modes: tuple[float, float, float, float] = DEFAULT_MODE_PROBS  # motion, fusion, optical, reflection
    reflection_scene: str = "self"  # "other": a reflection shows another photo of the pool (see synth.ghosting)
    mask_crop_bias: float = 0.75  # probability that an artifact sample's crop is centred on a mask pixel
    min_mask_pixels: int = 64
    length: int = 10_000
    seed: int = 0
    cache_size: int = 16  # decoded sources kept per worker
    finish: FinishConfig = field(default=DEFAULT_FINISH)


def to_item(image: torch.Tensor, mask: np.ndarray, label: int, severity: float) -> dict:
    """The dict layout shared by both datasets; ``image`` (3, H, W) float32 in [0, 1]."""
    masks = np.zeros((len(ARTIFACT_CLASSES), *mask.shape), np.float32)
    if label > 0:
        masks[label - 1] = mask
    return {
        "image": image,
        "masks": torch.from_numpy(masks),
        "label": torch.tensor(label, dtype=torch.int64),
        "severity": float(severity),
    }


class IPADSynthDataset(Dataset):
    """Fresh synthetic samples from clean photos; item ``i`` depends only on ``(config.seed, i)``.

    Each item: random source photo and canvas size, class from ``class_probs``, synthesis + shared finishing
    (``ipad_iqa.data.pipeline``), then a ``crop_size`` crop biased toward the mask and the label recomputed
    inside the crop. Returns ``image`` (3,h,w) float32 in [0,1], ``masks`` (3,h,w) float32 in {0,1} ordered
    (ghosting, flare, moire), ``label`` int64 (0 clean, 1 ghosting, 2 flare, 3 moire) and ``severity``.
    """

    def __init__(self, paths: Sequence[str | Path], config: SynthDatasetConfig = SynthDatasetConfig()) -> None:
        if not paths:
            raise ValueError("IPADSynthDataset needs at least one clean image path")
        if config.crop_size > config.canvas_sizes[0]:
            raise ValueError("crop_size must not exceed the smallest canvas size")
        check_mode_probs(config.ghosting_modes)
        check_reflection_scene(config.reflection_scene)
        if config.reflection_scene == "other" and len(paths) < 2:
            raise ValueError("reflection_scene 'other' reflects a second photo: it needs at least two clean photos")
        self.paths = [Path(p) for p in paths]
        self.config = config
        self._cache: OrderedDict[Path, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return self.config.length

    def _load(self, path: Path) -> np.ndarray:
        """Decode with a small per-process LRU cache (workers each hold their own)."""
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        img = load_photo(path)
        self._cache[path] = img
        if len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)
        return img

    def __getitem__(self, index: int) -> dict:
        cfg = self.config
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = np.random.default_rng([cfg.seed, index])
        k = int(rng.integers(len(self.paths)))
        size = int(rng.integers(cfg.canvas_sizes[0], cfg.canvas_sizes[1] + 1))
        label = int(rng.choice(len(LABELS), p=np.asarray(cfg.class_probs) / sum(cfg.class_probs)))
        scene = None
        if cfg.reflection_scene == "other" and LABELS[label] == "ghosting":
            # any photo but the source, from a stream of its own: the other draws stay as with "self"
            j = int(np.random.default_rng([cfg.seed, index, 2]).integers(len(self.paths) - 1))
            scene = partial(self._load, self.paths[j + (j >= k)])  # decoded only if a reflection is drawn
        sample = render_sample(self._load(self.paths[k]), LABELS[label], (cfg.seed, index, 1), size,
                               cfg.severity_range, cfg.finish, min_mask_pixels=cfg.min_mask_pixels,
                               synth_options={"ghosting": {"mode_probs": cfg.ghosting_modes}}, scene=scene)
        y, x = self._crop_origin(sample.mask, rng)
        c = cfg.crop_size
        image, mask = sample.image[y:y + c, x:x + c], sample.mask[y:y + c, x:x + c]
        if label > 0 and mask.sum() < cfg.min_mask_pixels:
            label, mask = 0, np.zeros_like(mask)
        image = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / 255.0)
        return to_item(image, mask, label, sample.severity if label > 0 else 0.0)

    def _crop_origin(self, mask: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
        """Top-left corner of the crop: centred on a random mask pixel with probability ``mask_crop_bias``."""
        c = self.config.crop_size
        h, w = mask.shape
        use_mask = rng.random() < self.config.mask_crop_bias and mask.any()
        if use_mask:
            ys, xs = np.nonzero(mask)
            k = int(rng.integers(ys.size))
            return int(np.clip(ys[k] - c // 2, 0, h - c)), int(np.clip(xs[k] - c // 2, 0, w - c))
        return int(rng.integers(h - c + 1)), int(rng.integers(w - c + 1))
