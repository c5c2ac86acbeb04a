"""Moire: isolated spectral peaks in local windows.

Moire is a quasi-periodic fringe, so the local power spectrum of a moire region has a few narrow peaks at
mid/high frequencies standing out of the smooth (roughly 1/f) spectrum of natural content. Per window we
measure the share of band energy that sits in such peaks, damped where the window has almost no texture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ipad_iqa.baselines import ops
from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_maps
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput


@dataclass(frozen=True)
class SpectralConfig:
    max_side: int = 512  # analysis resolution (long side)
    window: int = 32
    stride: int = 16
    band: tuple[float, float] = (0.08, 0.5)  # radial frequency band in cycles/pixel
    smooth: int = 5  # size of the log-spectrum smoothing that defines "the smooth spectrum"
    peak_ratio: float = 6.0  # a bin is a peak when its power exceeds the smooth spectrum by this factor
    variance_floor: float = 1e-4  # band variance (amplitude ~0.01) below which a window counts as flat


class SpectralPeakDetector(Detector):
    """Training-free moire map from local windowed FFTs (moire channel only)."""

    name = "spectral"
    classes = ("moire",)

    def __init__(self, config: SpectralConfig | None = None, device: str = "cpu") -> None:
        self.config = config or SpectralConfig()
        self.device = torch.device(device)

    def moire_map(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 1, h, w) peak-energy share at the analysis resolution."""
        c = self.config
        y = ops.luminance(ops.to_analysis_size(images, c.max_side))
        h, w = y.shape[-2:]
        pad_h, pad_w = max(0, c.window - h), max(0, c.window - w)
        pad_h += (-(h + pad_h - c.window)) % c.stride
        pad_w += (-(w + pad_w - c.window)) % c.stride
        y = F.pad(y, (0, pad_w, 0, pad_h), mode="replicate")
        b = y.shape[0]
        patches = F.unfold(y, c.window, stride=c.stride)  # (B, win*win, L)
        n_win = patches.shape[-1]
        patches = patches.transpose(1, 2).reshape(-1, 1, c.window, c.window)
        hann1 = torch.hann_window(c.window, periodic=False, dtype=y.dtype, device=y.device)
        hann = hann1[:, None] * hann1[None, :]
        x = (patches - patches.mean(dim=(-2, -1), keepdim=True)) * hann
        power = torch.fft.fft2(x).abs() ** 2
        log_p = torch.log(power + 1e-12)
        p = c.smooth // 2
        smooth = F.avg_pool2d(F.pad(log_p, (p, p, p, p), mode="circular"), c.smooth, stride=1)
        f = torch.fft.fftfreq(c.window, device=y.device, dtype=y.dtype)
        radius = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
        band = (radius >= c.band[0]) & (radius <= c.band[1])
        peaks = band & (log_p - smooth > math.log(c.peak_ratio))
        band_energy = (power * band).sum(dim=(-2, -1))
        share = (power * peaks).sum(dim=(-2, -1)) / (band_energy + 1e-12)
        variance = band_energy / (c.window**2 * (hann**2).sum())
        score = share * variance / (variance + c.variance_floor)  # (B*L, 1)
        # Spread each window's score over its pixels (Hann-weighted) and normalise by the overlap.
        weights = hann.reshape(1, -1, 1)
        num = F.fold(score.reshape(b, 1, n_win) * weights, y.shape[-2:], c.window, stride=c.stride)
        den = F.fold(weights.expand(b, -1, n_win), y.shape[-2:], c.window, stride=c.stride)
        return (num / den.clamp_min(1e-6))[..., :h, :w]

    @torch.no_grad()
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        images = images.to(self.device, torch.float32)
        moire = ops.resize(self.moire_map(images), images.shape[-2:])
        maps = torch.zeros(images.shape[0], len(ARTIFACT_CLASSES), *images.shape[-2:], device=images.device)
        maps[:, ARTIFACT_CLASSES.index("moire")] = moire[:, 0]
        return output_from_maps(maps, self.classes)


def build(config: DetectorConfig) -> SpectralPeakDetector:
    return SpectralPeakDetector(SpectralConfig(), device=config.device)
