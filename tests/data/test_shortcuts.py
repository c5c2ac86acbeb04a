"""Trivial detectors must not separate clean from artifact images: no format, brightness or texture shortcut.

Mean brightness and PNG size compare independent clean and artifact images. High-frequency energy outside the
mask is compared *paired*: each artifact image against its clean counterpart (same source, canvas and
finishing draws) over the same outside-the-mask region, because the mask itself selects a non-random part of
the image (moire shows most on bright texture), so comparing against whole clean images would measure that
selection, not a leak. Any processing outside the mask (blur, noise, resampling) would shift every pair.

Bound: with 81 clean and 81 artifact images, the AUROC of a useless feature has standard deviation about
sqrt((n1 + n2 + 1) / (12 n1 n2)) = 0.045, so [0.35, 0.65] is about +-3.3 sigma: a real shortcut (which
typically gives > 0.75) fails, chance does not.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from ipad_iqa.data.pipeline import render_sample
from ipad_iqa.data.sources import SKIMAGE_SAMPLES, skimage_loader
from ipad_iqa.output import ARTIFACT_CLASSES

N_PER_LABEL = 27
SIZE = 80


def auroc(neg: np.ndarray, pos: np.ndarray) -> float:
    """Mann-Whitney AUROC with ties counted half."""
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


@pytest.fixture(scope="module")
def samples():
    names = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera", "horse", "clock"]
    assert set(names) <= set(SKIMAGE_SAMPLES)
    sources = [skimage_loader(n)() for n in names]
    out = {"clean": [render_sample(sources[i % len(sources)], "clean", (99, i), SIZE)
                     for i in range(3 * N_PER_LABEL)]}
    for k, label in enumerate(ARTIFACT_CLASSES):
        seeds = [(98, k * N_PER_LABEL + i) for i in range(N_PER_LABEL)]
        out[label] = [render_sample(sources[s[1] % len(sources)], label, s, SIZE) for s in seeds]
        out[label + "/pair"] = [render_sample(sources[s[1] % len(sources)], "clean", s, SIZE) for s in seeds]
    return out


def _brightness(s) -> float:
    return float(s.image.mean())


def _png_size(s) -> float:
    buf = io.BytesIO()
    Image.fromarray(s.image).save(buf, format="PNG")
    return float(len(buf.getvalue()))


def _hf_outside(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared Laplacian of luminance outside the (2 px dilated) mask."""
    lap = ndimage.laplace(image.astype(np.float32).mean(axis=2)) ** 2
    outside = ~ndimage.binary_dilation(mask, iterations=2)
    return float(lap[outside].mean()) if outside.any() else 0.0


def test_hf_energy_outside_mask_is_untouched(samples):
    pos = np.array([_hf_outside(s.image, s.mask) for a in ARTIFACT_CLASSES for s in samples[a]])
    neg = np.array([_hf_outside(c.image, s.mask) for a in ARTIFACT_CLASSES
                    for s, c in zip(samples[a], samples[a + "/pair"], strict=True)])
    auc = auroc(neg, pos)
    assert 0.35 <= auc <= 0.65, f"high-frequency energy outside the mask separates the classes: AUROC {auc:.3f}"
    assert np.median(np.abs(pos - neg) / (neg + 1e-6)) < 0.05


@pytest.mark.parametrize("feature", [_brightness, _png_size])
def test_trivial_detector_is_near_chance(samples, feature):
    neg = np.array([feature(s) for s in samples["clean"]])
    pos = np.array([feature(s) for a in ARTIFACT_CLASSES for s in samples[a]])
    auc = auroc(neg, pos)
    assert 0.35 <= auc <= 0.65, f"{feature.__name__} separates clean from artifacts: AUROC {auc:.3f}"


def test_auroc_helper():
    assert auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert auroc(np.array([1.0]), np.array([1.0])) == 0.5
