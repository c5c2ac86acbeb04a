"""Fixed low-level cues that enter the conv stem beside the learned features.

Moiré is a narrow-band, strongly oriented fringe, often coloured (a sensor's colour filter array aliases it). How a
neighbourhood's energy splits over octave bands, per opponent colour channel, and how single-oriented each band
is, describe it directly; a few 3x3 convolutions see none of it across a window. Computed, not learned.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEVELS = 4  # Laplacian-pyramid bands: periods about 2-4, 4-8, 8-16 and 16-32 px
WINDOW_CELLS = 3  # energy window in map cells (12 px at stride 4), centred on each cell
LOG_SHIFT, LOG_SCALE = 7.0, 3.0  # log band energies of normalised views lie about -13..-1: brought near 0 +- 2


def _opponent(x: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB -> Rec. 709 luminance, red-green, yellow-blue."""
    r, g, b = x.unbind(1)
    return torch.stack([0.2126 * r + 0.7152 * g + 0.0722 * b, r - g, (r + g) / 2 - b], dim=1)


def _to_cells(x: torch.Tensor, scale: int, stride: int, size: tuple[int, int]) -> torch.Tensor:
    """A map at 1/scale of the view's resolution -> the stride-``stride`` cell grid of ``size`` cells."""
    if scale < stride:
        x = F.avg_pool2d(x, stride // scale, ceil_mode=True)
    return x if tuple(x.shape[-2:]) == size else F.interpolate(x, size=size, mode="nearest")


class SpectrumCue(nn.Module):
    """(B,3,H,W) view -> (B, 20, H/s, W/s): per octave band of a Laplacian pyramid (periods about 2-32 px), the
    log energy of luminance and two opponent chroma channels, luminance's share of the four bands' energy, and
    the band's orientation coherence (structure tensor), each over the 3 x 3 map cells around a cell (stride s).
    Each band is computed at its own resolution (the whole cue costs a few passes over the pixels); no
    parameters; float32 whatever the autocast."""

    channels = 5 * LEVELS

    def __init__(self, stride: int = 4) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            cells = (-(-x.shape[-2] // self.stride), -(-x.shape[-1] // self.stride))
            finer = _opponent(x.float())
            energies, coherences = [], []
            for level in range(LEVELS):
                coarser = F.avg_pool2d(finer, 2, ceil_mode=True)
                band = finer - F.interpolate(coarser, size=finer.shape[-2:], mode="bilinear", align_corners=False)
                luma = band[:, :1]
                gy = F.pad(luma[..., 2:, :] - luma[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
                gx = F.pad(luma[..., :, 2:] - luma[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
                sums = _to_cells(torch.cat([band * band, gx * gx, gy * gy, gx * gy], dim=1), 2**level,
                                 self.stride, cells)
                sums = F.avg_pool2d(sums, WINDOW_CELLS, stride=1, padding=WINDOW_CELLS // 2, count_include_pad=False)
                energies.append(sums[:, :3])
                jxx, jyy, jxy = sums[:, 3:].unbind(1)
                coherences.append(((jxx - jyy) ** 2 + 4 * jxy**2).sqrt() / (jxx + jyy + 1e-8))
                finer = coarser
            energy = torch.cat(energies, dim=1)  # (B, 3 * LEVELS, h, w)
            luma = energy[:, 0::3]
            share = luma / (luma.sum(1, keepdim=True) + 1e-8)
            log_energy = (torch.log(energy + 1e-8) + LOG_SHIFT) / LOG_SCALE
            return torch.cat([log_energy, share, torch.stack(coherences, dim=1)], dim=1)
