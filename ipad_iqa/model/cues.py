"""Fixed low-level cues that enter the conv stem beside the learned features.

Moiré is a narrow-band, strongly oriented fringe, often coloured (a sensor's colour filter array aliases it). How a
neighbourhood's energy splits over octave bands, per opponent colour channel, and how single-oriented each band
is, describe it directly; a few 3x3 convolutions see none of it across a window. Flare is light a lens scatters
around a bright source: it lifts the darkest channel and flattens contrast with distance from the source, over
reaches a 7-px stem does not span. Computed, not learned.
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


GLARE_REACHES = (1, 4, 16)  # pooling factors in map cells: windows of about 12, 48 and 192 px at stride 4
SATURATED = 0.95  # max-channel sRGB value from which a pixel counts as a light
GLARE_EPS = 1e-3  # floor of densities and linear levels before their logarithm (about 1/1000 of white)


def _reach(x: torch.Tensor, factor: int, size: tuple[int, int], pool: str = "avg") -> torch.Tensor:
    """Cell map -> its mean (or minimum) over about 3 x ``factor`` cells around each cell, back on ``size``."""
    if pool == "min":
        x = -F.max_pool2d(-x, factor, ceil_mode=True) if factor > 1 else x
        x = -F.max_pool2d(-x, 3, stride=1, padding=1)
    else:
        x = F.avg_pool2d(x, factor, ceil_mode=True) if factor > 1 else x
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    return x if tuple(x.shape[-2:]) == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _log(x: torch.Tensor) -> torch.Tensor:
    """log of a density or linear level, brought near 0 +- 2 (log(1e-3) = -6.9 .. 0)."""
    return (torch.log(x + GLARE_EPS) + 3.5) / 2.0


class GlareCue(nn.Module):
    """(B,3,H,W) view in [0,1] -> (B, 10, H/s, W/s): around each cell (stride s), the density of near-saturated
    pixels at three reaches, Weber contrast and the dark channel at two, the log luminance against the view's
    median at two, and the cosine between the luminance gradient and the gradient of the lights' density (glare
    falls off away from its source). Linear light; no parameters; float32 whatever the autocast."""

    channels = 10

    def __init__(self, stride: int = 4) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            x = x.float().clamp(0.0, 1.0)
            cells = (-(-x.shape[-2] // self.stride), -(-x.shape[-1] // self.stride))
            lin = x**2.2
            y = (0.2126 * lin[:, 0] + 0.7152 * lin[:, 1] + 0.0722 * lin[:, 2]).unsqueeze(1)
            lights = (x.amax(1, keepdim=True) >= SATURATED).float()
            stats = _to_cells(torch.cat([lights, y, y * y], dim=1), 1, self.stride, cells)
            dark = -F.max_pool2d(-lin.amin(1, keepdim=True), self.stride, ceil_mode=True)
            dark = dark if tuple(dark.shape[-2:]) == cells else F.interpolate(dark, size=cells, mode="nearest")
            level = torch.quantile(stats[:, 1].flatten(1), 0.5, dim=1).view(-1, 1, 1, 1)
            out = [_log(_reach(stats[:, :1], f, cells)) for f in GLARE_REACHES]
            for f in GLARE_REACHES[:2]:
                mean, sq = _reach(stats[:, 1:], f, cells).unbind(1)
                mean = mean.unsqueeze(1)
                contrast = (sq.unsqueeze(1) - mean**2).clamp(min=0).sqrt() / (mean + GLARE_EPS)
                out += [_log(contrast), _log(_reach(dark, f, cells, "min")), _log(mean) - _log(level)]
            ly, ld = out[-1], out[2]  # the wider reach's relative log luminance; the lights' widest density
            gy_l, gx_l = _gradient(ly)
            gy_d, gx_d = _gradient(ld)
            dot = gy_l * gy_d + gx_l * gx_d
            norm = (gy_l**2 + gx_l**2).sqrt() * (gy_d**2 + gx_d**2).sqrt()
            out.append(dot / (norm + 1e-6))
            return torch.cat(out, dim=1)


def _gradient(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences of a (B,1,h,w) map, edges replicated."""
    gy = F.pad(x[..., 2:, :] - x[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
    gx = F.pad(x[..., :, 2:] - x[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
    return gy, gx
