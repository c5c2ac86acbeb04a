"""The finishing path every sample goes through, clean or not, so format cannot reveal the label.

``prepare_canvas`` (resize + crop of the clean photo) runs *before* synthesis and ``finish`` (sensor noise,
8-bit quantisation, JPEG history) *after* it, with random draws independent of the label: clean negatives and
artifact positives share size, resampling, noise level and compression statistics.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ipad_iqa.data.synth import PARAMS, SYNTHESIZERS
from ipad_iqa.data.synth.common import as_rgb
from ipad_iqa.data.synth.ghosting import Scene, scene_array
from ipad_iqa.io import load_image


@dataclass(frozen=True)
class Sample:
    """A finished sample: what datasets and the benchmark writer store."""

    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W): v1 bool (all False for clean); v2 uint8 0 / 128 (uncertain) / 255 (visible)
    label: str  # "clean" or an artifact name
    severity: float
    params: dict
    jod: float | None = None  # v2: image JOD against the clean twin (10 = no visible difference)


@dataclass(frozen=True)
class FinishConfig:
    """Distributions of the label-independent capture/processing steps."""

    scale_jitter: tuple[float, float] = (1.0, 1.35)  # canvas short side = size * U(jitter) before the crop
    noise_sigma: tuple[float, float] = (0.0, 0.012)  # Gaussian sensor noise std (sRGB units)
    jpeg_prob: float = 0.7
    jpeg_quality: tuple[int, int] = (75, 97)


DEFAULT_FINISH = FinishConfig()


def load_photo(path: str | Path) -> np.ndarray:
    """A clean photo as (H, W, 3) float32 sRGB in [0, 1], the layout synthesis works in: the one image loader,
    ``ipad_iqa.io.load_image`` (EXIF orientation, transparency, size and pixel-limit checks), channels last."""
    return load_image(path).permute(1, 2, 0).numpy()


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Antialiased resize to (h, w) through PIL (Lanczos, per channel in float)."""
    h, w = size
    chans = [np.asarray(Image.fromarray(image[..., c], mode="F").resize((w, h), Image.LANCZOS))
             for c in range(3)]
    return np.clip(np.stack(chans, axis=2), 0.0, 1.0).astype(np.float32)


def prepare_canvas(image: np.ndarray, size: int, rng: np.random.Generator,
                   cfg: FinishConfig = DEFAULT_FINISH) -> np.ndarray:
    """Resize so the short side is ``size * U(scale_jitter)`` and take a random ``size`` x ``size`` crop."""
    img = as_rgb(image)
    h, w = img.shape[:2]
    short = size * rng.uniform(*cfg.scale_jitter)
    scale = short / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    img = _resize(img, (nh, nw))
    y, x = int(rng.integers(nh - size + 1)), int(rng.integers(nw - size + 1))
    return img[y:y + size, x:x + size]


def finish(image: np.ndarray, rng: np.random.Generator, cfg: FinishConfig = DEFAULT_FINISH) -> tuple[np.ndarray, dict]:
    """Sensor noise, 8-bit quantisation and an optional JPEG round trip; returns uint8 (H, W, 3) and the draws."""
    sigma = float(rng.uniform(*cfg.noise_sigma))
    noisy = image + rng.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma)
    out = np.clip(np.rint(noisy * 255.0), 0, 255).astype(np.uint8)
    quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)) if rng.random() < cfg.jpeg_prob else None
    if quality is not None:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        out = np.asarray(Image.open(buf).convert("RGB"))
    return out, {"noise_sigma": sigma, "jpeg_quality": quality}


def _scene_canvas(scene: Scene, size: int, seed: np.random.SeedSequence, cfg: FinishConfig) -> np.ndarray:
    """The canvas of the photo a reflection shows, drawn from its own seed stream."""
    return prepare_canvas(scene_array(scene), size, np.random.default_rng(seed), cfg)


def render_sample(source: np.ndarray, label: str, seed: tuple[int, ...], size: int,
                  severity_range: tuple[float, float] = (0.0, 1.0), cfg: FinishConfig = DEFAULT_FINISH,
                  min_mask_pixels: int = 32, attempts: int = 4,
                  synth_options: Mapping[str, Mapping[str, Any]] | None = None,
                  scene: Scene | None = None) -> Sample:
    """Canvas -> (synthesis) -> finishing for one sample, deterministic in ``seed``.

    Canvas, synthesis and finishing draw from independent child streams of ``seed`` so the canvas and the
    finishing of a clean sample follow exactly the distribution of an artifact sample. A synthesis whose mask
    has fewer than ``min_mask_pixels`` pixels (e.g. ghosting over a flat sky) is redrawn up to ``attempts``
    times; the number of draws used is recorded in ``params["attempts"]``. ``synth_options[label]`` holds
    keyword options of that artifact's ``PARAMS[label].sample`` (e.g. ``{"ghosting": {"mode_probs": ...}}``).
    ``scene`` is a second photo for ghosting's reflection mode to reflect (None: the source itself), or a
    function returning it, called only if a reflection is drawn; it gets its own canvas from a fourth child
    stream, so the other three, and every sample without it, are unchanged.
    """
    options = (synth_options or {}).get(label, {})
    canvas_ss, synth_ss, finish_ss, scene_ss = np.random.SeedSequence(list(seed)).spawn(4)
    canvas = prepare_canvas(source, size, np.random.default_rng(canvas_ss), cfg)
    mask = np.zeros(canvas.shape[:2], bool)
    severity, params, image = 0.0, {}, canvas
    if label != "clean":
        synth = SYNTHESIZERS[label]
        if label == "ghosting" and scene is not None:
            # made at most once, and only if a reflection is drawn
            synth = partial(synth, scene=cache(partial(_scene_canvas, scene, size, scene_ss, cfg)))
        for attempt, ss in enumerate(synth_ss.spawn(attempts), start=1):
            rng = np.random.default_rng(ss)
            prm = PARAMS[label].sample(rng, float(rng.uniform(*severity_range)), **options)
            res = synth(canvas, rng, prm)
            if res.mask.sum() >= min_mask_pixels or attempt == attempts:
                break
        image, mask, severity, params = res.image, res.mask, res.severity, res.params | {"attempts": attempt}
    out, draws = finish(image, np.random.default_rng(finish_ss), cfg)
    return Sample(image=out, mask=mask, label=label, severity=severity, params=params | {"finish": draws})
