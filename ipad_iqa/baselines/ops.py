"""Small image operations shared by the training-free detectors (torch, batched, no learned weights)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def luminance(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) Rec. 709 luma."""
    w = images.new_tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)
    return (images * w).sum(1, keepdim=True)


def to_analysis_size(x: torch.Tensor, max_side: int) -> torch.Tensor:
    """Downscale (area) so the long side is at most ``max_side``: the detectors' parameters are in these pixels."""
    h, w = x.shape[-2:]
    scale = max_side / max(h, w)
    if scale >= 1:
        return x
    return F.interpolate(x, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize to ``size`` (no-op when already there)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def box_mean(x: torch.Tensor, k: int) -> torch.Tensor:
    """Local mean over a k x k window (k odd), replicate-padded so borders are not darkened.

    Separable (a row mean, then a column mean): 2k additions per pixel instead of k^2, same result.
    """
    p = k // 2
    rows = F.avg_pool2d(F.pad(x, (p, p, p, p), mode="replicate"), (1, k), stride=1)
    return F.avg_pool2d(rows, (k, 1), stride=1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a (B, C, H, W) tensor, replicate-padded."""
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = g / g.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[..., y, x] = x[..., y + dy, x + dx], zero outside the image (no wrap-around)."""
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    out[..., yd, xd] = x[..., ys, xs]
    return out
