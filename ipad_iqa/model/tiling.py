"""Native-scale tiling: where tiles go and how their patch-grid maps are blended.

Tiles start on the patch grid of the whole image, so every tile's patch cells coincide with cells of one
image-wide grid and stitching is exact; blending weights ramp down over the overlap to hide seams.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets covering [0, length) with tiles of ``tile``; the last tile is flush with the end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return sorted(set(starts))


def blend_window(cells: int, ramp: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """2D weights (cells, cells): 1 in the middle, linear ramp to a small positive value at the edges."""
    if ramp <= 0:
        w = torch.ones(cells, dtype=dtype, device=device)
    else:
        idx = torch.arange(cells, dtype=dtype, device=device)
        edge = torch.minimum(idx, cells - 1 - idx)
        w = ((edge + 1) / (ramp + 1)).clamp(max=1.0)
    return w[:, None] * w[None, :]


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
