"""Ghosting: double contours found by autocorrelating gradients at small non-zero shifts.

A ghost is a displaced, weaker copy of the content, so every edge gets a twin at a fixed offset d. The
derivative along a direction u, correlated with itself shifted by d*u, peaks at the ghost offset. A single
(possibly blurred) edge only gives a correlation that decreases with d, so the evidence used is the rise
max(C(d), 0) - max(C(d/2), 0): high for a twin edge at d, zero for one blurred edge (clamping keeps an
anti-correlated opposite edge at d/2 from counting as evidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ipad_iqa.baselines import ops
from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_maps
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput

_DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))  # (dy, dx) unit steps


@dataclass(frozen=True)
class EdgeAutocorrConfig:
    max_side: int = 384  # analysis resolution (long side)
    distances: tuple[int, ...] = (3, 4, 6, 8, 10, 12, 16, 20, 24)  # ghost offsets searched, pixels
    window: int = 21  # local correlation window; smaller ones make textures look like ghosts
    energy_floor: float = 1e-5  # gradient energy below which a window counts as flat
    gain: float = 2.0  # a twin at half the edge's strength gives C - C/2 of about 0.4 -> map 0.8


class EdgeAutocorrDetector(Detector):
    """Training-free ghosting map from local gradient autocorrelation (ghosting channel only)."""

    name = "edge_autocorr"
    classes = ("ghosting",)

    def __init__(self, config: EdgeAutocorrConfig | None = None, device: str = "cpu") -> None:
        self.config = config or EdgeAutocorrConfig()
        self.device = torch.device(device)

    def ghost_map(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 1, h, w) at the analysis resolution."""
        c = self.config
        y = ops.gaussian_blur(ops.luminance(ops.to_analysis_size(images, c.max_side)), 0.7)
        gy = F.pad(y[..., 2:, :] - y[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
        gx = F.pad(y[..., :, 2:] - y[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
        best = torch.zeros_like(y)
        for dy, dx in _DIRECTIONS:
            norm = math.hypot(dy, dx)
            g = (dy * gy + dx * gx) / norm  # derivative along the shift direction
            energy = ops.box_mean(g * g, c.window)
            steps = {d: max(1, round(d / norm)) for d in c.distances}
            halves = {d: max(1, round(max(1, d // 2) / norm)) for d in c.distances}
            corr = {k: self._correlation(g, energy, k * dy, k * dx).clamp_min(0)
                    for k in set(steps.values()) | set(halves.values())}
            for d in c.distances:
                best = torch.maximum(best, corr[steps[d]] - corr[halves[d]])
        return (c.gain * best).clamp(0, 1)

    def _correlation(self, g: torch.Tensor, energy: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
        """Local normalised correlation of ``g`` with itself shifted by (dy, dx)."""
        c = self.config
        moved = ops.shift(g, dy, dx)
        den = (energy * ops.box_mean(moved * moved, c.window)).sqrt() + c.energy_floor
        return ops.box_mean(g * moved, c.window) / den

    @torch.no_grad()
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        images = images.to(self.device, torch.float32)
        ghost = ops.resize(self.ghost_map(images), images.shape[-2:])
        maps = torch.zeros(images.shape[0], len(ARTIFACT_CLASSES), *images.shape[-2:], device=images.device)
        maps[:, ARTIFACT_CLASSES.index("ghosting")] = ghost[:, 0]
        return output_from_maps(maps, self.classes)


def build(config: DetectorConfig) -> EdgeAutocorrDetector:
    return EdgeAutocorrDetector(device=config.device)
