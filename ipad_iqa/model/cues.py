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
WINDOW_CELLS = 5  # correlation window in map cells (20 px at stride 4), centred on each cell
LUMA: tuple[float, float, float] = (0.2126, 0.7152, 0.0722)  # Rec. 709 weights of the luminance


class ShiftCorrelation(nn.Module):
    """(B,3,H,W) view -> (B, 32, H/s, W/s): per direction and offset, the normalised correlation of the
    luminance derivative along the direction with itself displaced along it, over the 5 x 5 map cells around
    each cell (stride s). The sums are pooled to cells first: a full-resolution box filter per channel cost more
    than the rest of a training step. No parameters; float32 whatever the autocast."""

    channels = len(DIRECTIONS) * len(OFFSETS)

    def __init__(self, stride: int = 4) -> None:
        super().__init__()
        self.stride = stride

    def _window_mean(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over the map cell and its neighbours within WINDOW_CELLS // 2 cells: one pass over the pixels
        (cell means), then a small box on the cell grid."""
        cells = F.avg_pool2d(x, self.stride)
        return F.avg_pool2d(cells, WINDOW_CELLS, stride=1, padding=WINDOW_CELLS // 2, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            y = (x.float() * x.new_tensor(LUMA, dtype=torch.float32).view(1, 3, 1, 1)).sum(1, keepdim=True)
            gy = F.pad(y[..., 2:, :] - y[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
            gx = F.pad(y[..., :, 2:] - y[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
            channels = []
            for dy, dx in DIRECTIONS:
                norm = math.hypot(dy, dx)
                g = (dy * gy + dx * gx) / norm
                energy = self._window_mean(g * g)
                for d in OFFSETS:
                    k = max(1, round(d / norm))
                    # the displaced window's energy: the cell energies displaced by the nearest whole cell
                    # (the window spans 5 cells, so the rounding moves it by at most a tenth)
                    cy, cx = round(k * dy / self.stride), round(k * dx / self.stride)
                    den = (energy * _displaced(energy, cy, cx)).sqrt() + 1e-5
                    corr = self._window_mean(g * _displaced(g, k * dy, k * dx)) / den
                    channels.append(corr.clamp(-1.0, 1.0))  # windows cut by the border can overshoot
            return torch.cat(channels, dim=1)


def _displaced(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[..., i, j] = x[..., i + dy, j + dx], zero outside the image."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (max(-dx, 0), max(dx, 0), max(-dy, 0), max(dy, 0)))
    return padded[..., max(dy, 0):max(dy, 0) + h, max(dx, 0):max(dx, 0) + w]
