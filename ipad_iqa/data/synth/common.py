"""Shared pieces of the synthesizers: result type, input normalisation, colour transfer and the mask rule.

Every synthesizer works in *linear light* (light adds linearly there, so flare layers, ghost copies and display
sub-pixel modulation composite physically) and returns sRGB. Masks are derived from what the synthesizer
actually changed, with one rule shared by all artifacts (:func:`change_mask`) so that the three classes are
annotated consistently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

# Rec. 709 luminance weights (linear RGB); used wherever a single "brightness" channel is needed.
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class SynthResult:
    """One synthesized sample: sRGB image, binary artifact mask, severity and the parameters that made it."""

    image: np.ndarray  # (H, W, 3) float32 sRGB in [0, 1]
    mask: np.ndarray  # (H, W) bool
    severity: float  # in [0, 1]
    params: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable


@dataclass(frozen=True)
class MaskRule:
    """Threshold rule turning a per-pixel change energy into a binary mask.

    A pixel is in the mask when its (lightly smoothed) change is at least ``min(visible, t_keep)`` where
    ``visible`` is a just-noticeable sRGB change and ``t_keep`` the largest threshold whose super-level set still
    holds ``keep`` of the total change energy. So every visibly changed pixel is annotated, and faint but
    widespread change (veiling glare, thin moire) is annotated as far as needed to hold ``keep`` of the energy,
    but no further. Components smaller than ``min_area`` of the image are dropped as specks.
    """

    visible: float = 2.0 / 255.0  # mean |sRGB change| over channels
    keep: float = 0.9
    smooth_sigma: float = 1.0
    min_area: float = 2e-4


DEFAULT_RULE = MaskRule()


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Normalise an input to (H, W, 3) float32 sRGB in [0, 1].

    Grayscale (H, W) or (H, W, 1) is replicated to three channels; RGBA is composited over mid grey (0.5) so that
    transparent areas become a neutral, untextured background rather than inventing black or white edges;
    integer images are scaled by their dtype maximum. Images smaller than 64 px on a side are rejected.
    """
    img = np.asarray(image)
    if np.issubdtype(img.dtype, np.integer):
        img = img.astype(np.float32) / float(np.iinfo(img.dtype).max)
    img = img.astype(np.float32, copy=False)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected (H,W), (H,W,1), (H,W,3) or (H,W,4) image, got shape {img.shape}")
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        alpha = img[..., 3:4]
        img = img[..., :3] * alpha + 0.5 * (1.0 - alpha)
    if min(img.shape[:2]) < 64:
        raise ValueError(f"image must be at least 64 px on each side, got {img.shape[:2]}")
    return np.clip(img, 0.0, 1.0).astype(np.float32, copy=False)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB transfer function inverse (IEC 61966-2-1)."""
    x = np.asarray(x, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """sRGB transfer function, clipping to [0, 1] first (sensors saturate)."""
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055).astype(np.float32)


def change_mask(energy: np.ndarray, rule: MaskRule = DEFAULT_RULE, region: np.ndarray | None = None) -> np.ndarray:
    """Binary mask from a per-pixel change energy (mean |sRGB change|), following :class:`MaskRule`.

    ``region`` optionally restricts the mask to where the synthesizer acted (e.g. the displaced object).
    """
    e = ndimage.gaussian_filter(energy.astype(np.float32), rule.smooth_sigma) if rule.smooth_sigma > 0 else energy
    if region is not None:
        e = np.where(region, e, 0.0)
    total = float(e.sum())
    if total <= 0.0:
        return np.zeros(e.shape, dtype=bool)
    flat = np.sort(e.ravel())[::-1]
    cum = np.cumsum(flat)
    t_keep = float(flat[min(int(np.searchsorted(cum, rule.keep * total)), flat.size - 1)])
    mask = e >= max(min(rule.visible, t_keep), 1e-6)
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = np.bincount(labels.ravel())
        small = sizes < rule.min_area * mask.size
        small[0] = False
        mask[small[labels]] = False
    return mask


def mean_abs_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel mean absolute sRGB difference over channels: the change energy the masks are built on."""
    return np.abs(a - b).mean(axis=2)


def loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Log-uniform draw: scale-like parameters (periods, radii) are spread evenly over octaves."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def lerp(lo: float, hi: float, t: float) -> float:
    """Map severity ``t`` in [0, 1] to a parameter value between ``lo`` and ``hi``."""
    return float(lo + (hi - lo) * t)


def sample_severity(rng: np.random.Generator, severity: float | None) -> float:
    """Severity used by ``Params.sample``: given, or uniform on [0, 1] so subtle cases are as common as strong."""
    if severity is None:
        return float(rng.uniform(0.0, 1.0))
    if not 0.0 <= severity <= 1.0:
        raise ValueError(f"severity must be in [0, 1], got {severity}")
    return float(severity)


def texture_weights(lin: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Local gradient magnitude of linear luminance, used to place artifacts where they can be seen."""
    lum = lin @ LUMA
    g = np.hypot(ndimage.sobel(lum, 0), ndimage.sobel(lum, 1))
    return ndimage.gaussian_filter(g, sigma).astype(np.float32)


def pick_weighted(rng: np.random.Generator, weights: np.ndarray, margin: int = 0) -> tuple[int, int]:
    """Draw a pixel (row, col) with probability proportional to ``weights`` (uniform if all zero)."""
    w = np.asarray(weights, dtype=np.float64).copy()
    if margin > 0:
        w[:margin], w[-margin:], w[:, :margin], w[:, -margin:] = 0, 0, 0, 0
    w = np.clip(w, 0, None).ravel()
    s = w.sum()
    if s <= 0:
        idx = int(rng.integers(w.size))
    else:
        idx = min(int(np.searchsorted(np.cumsum(w), rng.uniform(0.0, s))), w.size - 1)
    return divmod(idx, weights.shape[1])


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """Tuples to lists, so sampled parameters survive ``json.dumps`` and compare equal after a round trip."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def fft_gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a 2-D array through the FFT: cost independent of ``sigma`` (wide blurs are common here).

    Boundaries wrap around, acceptable for the smooth energy maps it is used on.
    """
    spec = ndimage.fourier_gaussian(np.fft.rfft2(x), sigma, n=x.shape[-1])
    return np.fft.irfft2(spec, s=x.shape).astype(np.float32)
