"""One-off comparison of tile layouts and blending windows (kept in history; see docs/history.md).

Usage: python benchmarks/tile_seams_compare.py   (needs ../shared/data/real_val; about 5 minutes on 2 cores)

Reference: a dense sliding window (tiles every 32 px) blended with the raised cosine, which has no tile border
near any pixel. Decision rule, written before the run: seam error = mean |grad(stitched - reference)| of the
maps at input resolution, averaged over classes and images (4 examples + 36 real photos). Adopt the option with
the lowest seam error among those with no more tiles than today at 512x512 (9) and at most 66 tiles at
1920x1080 (latency budget); of two within 5 % of each other, the one with fewer tiles.
"""

from __future__ import annotations

import glob

import numpy as np
import pyiqa
import torch
from PIL import Image

import ipad_iqa  # noqa: F401  (registers the metrics)
import ipad_iqa.model.ipad_clip as ic
from ipad_iqa.model import tiling


def old_starts(length: int, tile: int, min_overlap: int, step: int) -> list[int]:
    """The layout before: fixed stride, the last tile pushed flush with the end."""
    if length <= tile:
        return [0]
    stride = tile - min_overlap
    stride -= stride % step
    return sorted({*range(0, length - tile, stride), length - tile})


def linear_window(cells: int, dtype: torch.dtype, device: torch.device, ramp: int = 8) -> torch.Tensor:
    """The window before: 1 in the middle, a linear ramp over the nominal overlap (8 cells = 32 px)."""
    idx = torch.arange(cells, dtype=dtype, device=device)
    w = ((torch.minimum(idx, cells - 1 - idx) + 1) / (ramp + 1)).clamp(max=1.0)
    return w[:, None] * w[None, :]


def even(overlap: int):
    return lambda length, tile, _min_overlap, step: tiling.tile_starts(length, tile, overlap, step)


OPTIONS = {
    "A flush, linear 32": (old_starts, linear_window),
    "D even, linear 32": (even(32), linear_window),
    "B even, cosine, overlap >= 32": (even(32), tiling.blend_window),
    "C even, cosine, overlap >= 48": (even(48), tiling.blend_window),
}
DENSE = (lambda length, tile, _min_overlap, step: tiling.tile_starts(length, tile, tile - 32, step),
         tiling.blend_window)


def main() -> None:
    torch.set_grad_enabled(False)
    net = pyiqa.create_metric("ipad_clip", device="cpu").net.model

    def maps(x: torch.Tensor, starts, window) -> np.ndarray:
        ic.tile_starts, ic.blend_window = starts, window
        return net(x).maps[0].numpy()

    paths = sorted(glob.glob("examples/*.jpg")) + sorted(glob.glob("../shared/data/real_val/**/*.jpg",
                                                                   recursive=True))
    seam = {k: [] for k in OPTIONS}
    mae = {k: [] for k in OPTIONS}
    for path in paths:
        x = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
        ref = maps(x, *DENSE)
        for k, option in OPTIONS.items():
            d = maps(x, *option) - ref
            seam[k].append(0.5e3 * (np.abs(np.diff(d, axis=-1)).mean() + np.abs(np.diff(d, axis=-2)).mean()))
            mae[k].append(np.abs(d).mean())
        print(path, *(f"{seam[k][-1]:.3f}" for k in OPTIONS), flush=True)
    for k, (starts, _window) in OPTIONS.items():
        tiles = {size: len(starts(size[0], 224, 32, 16)) * len(starts(size[1], 224, 32, 16))
                 for size in ((512, 512), (1088, 1920))}
        print(f"{k:32s} seam error x1e3 {np.mean(seam[k]):.3f}  mean |diff| {np.mean(mae[k]):.4f}  tiles {tiles}")


if __name__ == "__main__":
    main()
