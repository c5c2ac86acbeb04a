"""Fixed low-level cues that enter the dense decoder beside the learned features.

A ghost is a displaced, weaker copy of the content: every structure gets a twin at one offset. Whether a window
holds such a twin is a product of pixels ``d`` apart, which neither a 3x3 convolution stack of a few layers nor a
16-px token represents; it is computed here on the image instead of learned.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))  # (dy, dx) unit steps
OFFSETS: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16, 24)  # ghost offsets, pixels: IPAD-Synth v2 draws 1.5-50
WINDOW = 15  # local correlation window, pixels


class ShiftCorrelation(nn.Module):
    """(B,3,H,W) view -> (B, 32, H/4, W/4): per direction and offset, the local normalised correlation of the
    luminance derivative along the direction with itself displaced along it, averaged over each map cell.
    No parameters; float32 whatever the autocast (ratios of small sums)."""

    channels = len(DIRECTIONS) * len(OFFSETS)

    def __init__(self, stride: int = 4) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from ipad_iqa.baselines import ops  # experiment: ops would move beside the model if the cue is kept

        with torch.autocast(x.device.type, enabled=False):
            y = ops.luminance(x.float())
            gy = F.pad(y[..., 2:, :] - y[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
            gx = F.pad(y[..., :, 2:] - y[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
            channels = []
            for dy, dx in DIRECTIONS:
                norm = math.hypot(dy, dx)
                g = (dy * gy + dx * gx) / norm
                energy = ops.box_mean(g * g, WINDOW)
                for d in OFFSETS:
                    k = max(1, round(d / norm))
                    den = (energy * ops.shift(energy, k * dy, k * dx)).sqrt() + 1e-5
                    channels.append(ops.box_mean(g * ops.shift(g, k * dy, k * dx), WINDOW) / den)
            return F.avg_pool2d(torch.cat(channels, dim=1), self.stride)
