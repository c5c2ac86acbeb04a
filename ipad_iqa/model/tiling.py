"""Native-scale tiling: where tiles go and how their maps are blended.

Tiles start on a grid that is both the patch grid and the map grid of the whole image (multiples of both
strides), so every tile's map cells coincide with cells of one image-wide grid and stitching is exact.
Neighbouring tiles see different context and disagree; a seam is that disagreement squeezed into the width
over which they cross-fade. So the tiles are spread evenly (every overlap as wide as the tile count allows,
instead of a thin one beside a last tile pushed flush) and blended in two bands, as in multi-band image
blending: each tile's detail (its map minus its mean) is weighted by a raised cosine over the whole tile,
which cross-fades over the full width of every overlap, while the tiles' levels (their means) are
interpolated linearly between tile centres, so a level that differs from tile to tile ramps over a whole
tile rather than stepping within an overlap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def tile_starts(length: int, tile: int, min_overlap: int, step: int) -> list[int]:
    """Start offsets, multiples of ``step``, of the fewest tiles that cover [0, length) with neighbours
    overlapping by at least ``min_overlap``; the tiles are spread as evenly as the step allows, the first at 0
    and the last flush with the end (``length`` and ``tile`` are multiples of ``step``)."""
    if length % step or tile % step:
        raise ValueError(f"length {length} and tile {tile} must be multiples of the step {step}")
    if not 0 <= min_overlap < tile:
        raise ValueError(f"min_overlap {min_overlap} must be in [0, tile {tile})")
    if length <= tile:
        return [0]
    span, max_stride = (length - tile) // step, max(1, (tile - min_overlap) // step)
    gaps = -(-span // max_stride)
    # span units shared among the gaps: each gets the floor of the mean, the first (span mod gaps) one more
    return [step * (i * (span // gaps) + min(i, span % gaps)) for i in range(gaps + 1)]


def blend_window(cells: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """2D weights (cells, cells): a raised cosine, 1 in the middle and nearly 0 at the edges, so where tiles
    overlap each one's share falls smoothly to nothing at its border (where its context is poorest)."""
    idx = torch.arange(cells, dtype=torch.float64, device=device)
    w = torch.sin(torch.pi * (idx + 0.5) / cells).square().clamp(min=1e-3)
    return (w[:, None] * w[None, :]).to(dtype)


def pad_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pad (B,C,h,w) at the bottom/right to (height,width): reflect where possible, else replicate."""
    ph, pw = height - x.shape[-2], width - x.shape[-1]
    if ph <= 0 and pw <= 0:
        return x
    mode = "reflect" if ph < x.shape[-2] and pw < x.shape[-1] else "replicate"
    return F.pad(x, (0, max(pw, 0), 0, max(ph, 0)), mode=mode)


def global_view_size(height: int, width: int, tile: int, patch: int) -> tuple[int, int]:
    """Size of the whole-image view: long side = tile, aspect kept, both sides multiples of the patch."""
    scale = tile / max(height, width)
    return (max(patch, round(height * scale / patch) * patch), max(patch, round(width * scale / patch) * patch))


def interpolation_matrix(centres: list[float], n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(n, len(centres)) weights of piecewise-linear interpolation at cell centres 0.5 .. n - 0.5 between
    values placed at ``centres`` (ascending, in cells), constant beyond the first and last."""
    pos = torch.arange(n, dtype=torch.float64) + 0.5
    c = torch.tensor(centres, dtype=torch.float64)
    a = torch.zeros(n, len(centres), dtype=torch.float64)
    if len(centres) == 1:
        a[:, 0] = 1
        return a.to(dtype=dtype, device=device)
    right = torch.searchsorted(c, pos).clamp(1, len(centres) - 1)
    left = right - 1
    t = ((pos - c[left]) / (c[right] - c[left])).clamp(0, 1)
    a[torch.arange(n), left] = 1 - t
    a[torch.arange(n), right] += t
    return a.to(dtype=dtype, device=device)
