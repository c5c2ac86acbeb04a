"""Lens flare: near-saturated sources and the veiling glare around them.

Flare needs a bright source; around it, scattered light lifts the local brightness and lowers local
contrast (haze), decaying with distance. The map is the source cores plus, near them, the product of
"brighter than the image's typical level" and "flattened contrast".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ipad_iqa.baselines import ops
from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_maps
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput


@dataclass(frozen=True)
class BloomConfig:
    max_side: int = 256  # analysis resolution (long side)
    saturation: float = 0.92  # max-channel value from which a pixel counts as (near-)saturated
    glow_sigma: float = 0.08  # reach of a source's glow, as a fraction of the long side
    source_level: float = 0.05  # blurred core density treated as "fully next to a source"
    contrast_window: int = 9
    haze_contrast: float = 0.06  # local std at which the low-contrast term halves


class BloomDetector(Detector):
    """Training-free flare map from saturated cores, proximity to them, brightness lift and haze."""

    name = "bloom"
    classes = ("flare",)

    def __init__(self, config: BloomConfig | None = None, device: str = "cpu") -> None:
        self.config = config or BloomConfig()
        self.device = torch.device(device)

    def flare_map(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 1, h, w) at the analysis resolution."""
        c = self.config
        small = ops.to_analysis_size(images, c.max_side)
        value = small.max(dim=1, keepdim=True).values
        core = ((value - c.saturation) / (1 - c.saturation)).clamp(0, 1)
        sigma = c.glow_sigma * max(small.shape[-2:])
        near = (ops.gaussian_blur(core, sigma) / c.source_level).clamp(0, 1)
        y = ops.luminance(small)
        mean = ops.box_mean(y, c.contrast_window)
        std = (ops.box_mean(y * y, c.contrast_window) - mean * mean).clamp_min(0).sqrt()
        typical = y.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
        lift = ((mean - typical) / (1 - typical).clamp_min(1e-3)).clamp(0, 1)
        haze = 1 / (1 + (std / c.haze_contrast) ** 2)
        glow = near * lift.sqrt() * haze
        return torch.maximum(core, glow)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        images = images.to(self.device, torch.float32)
        flare = ops.resize(self.flare_map(images), images.shape[-2:])
        maps = torch.zeros(images.shape[0], len(ARTIFACT_CLASSES), *images.shape[-2:], device=images.device)
        maps[:, ARTIFACT_CLASSES.index("flare")] = flare[:, 0]
        return output_from_maps(maps, self.classes)


def build(config: DetectorConfig) -> BloomDetector:
    return BloomDetector(device=config.device)
