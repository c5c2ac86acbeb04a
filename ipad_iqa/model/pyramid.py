"""The dense half of IPAD-CLIP v2: convolutional detail fused with ViT context into stride-4 pixel features.

A ViT sees a 224-px tile as a 14 x 14 grid: a double contour two pixels apart, a moire fringe of six pixels or a
thin flare streak falls inside one cell and is averaged away. Convolutions keep that detail at strides 4 and 8;
the ViT's tapped layers give what they cannot (is this a light source, a reflection, a screen?). The decoder
fuses the two top-down, FPN-style, into features in the joint image-text space, where the artifact anchors
score them per pixel as before. Its last projection starts at zero, so an untrained decoder reproduces the
upsampled patch-grid features (a warm start keeps what the patch-grid model had learned).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ipad_iqa.model.cpu_layers import GroupNorm

DETAIL_CHANNELS: tuple[int, int] = (64, 128)  # stride 4, stride 8


def _conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), GroupNorm(8, c_out), nn.GELU())


class DetailCNN(nn.Module):
    """Stride-4 and stride-8 features for backbones whose patch embedding is one linear layer (real CLIP ViTs);
    a conv-stem backbone gives the same from its own stem instead (``ConvStem.pyramid``)."""

    channels: tuple[int, int] = DETAIL_CHANNELS

    def __init__(self) -> None:
        super().__init__()
        c4, c8 = self.channels
        self.s4 = nn.Sequential(_conv_block(3, 32, 2), _conv_block(32, c4, 2))
        self.s8 = _conv_block(c4, c8, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s4 = self.s4(x.contiguous(memory_format=torch.channels_last))
        return s4, self.s8(s4)


class PyramidDecoder(nn.Module):
    """Context (tapped ViT layers, stride 16) + detail (strides 8, 4) -> pixel features (B,D,H/4,W/4)."""

    def __init__(self, dim: int, n_taps: int, detail_channels: tuple[int, int], width: int = 64) -> None:
        super().__init__()
        c4, c8 = detail_channels
        self.context = nn.Conv2d(n_taps * dim, width, 1)
        self.lateral8 = nn.Conv2d(c8, width, 1)
        self.lateral4 = nn.Conv2d(c4, width, 1)
        self.fuse8 = _conv_block(width, width)
        self.fuse4 = _conv_block(width, width)
        self.out = nn.Conv2d(width, dim, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, taps: list[torch.Tensor], base: torch.Tensor, grid: tuple[int, int], s4: torch.Tensor,
                s8: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """taps: per tapped layer (B,N,D) tokens on the ``grid`` (gh, gw); base (B,N,D): the patch-grid features
        the maps used to come from.

        Returns pixel features (B,h*w,D), ``upsample(base) + correction``, on the (h, w) grid of ``s4``. Every
        tensor stays channels-last (the layout of tokens and of oneDNN's convolutions): no layout copies.
        """
        ctx = self.context(torch.cat([_grid(t, grid) for t in taps], dim=1))
        p8 = self.fuse8(_up(ctx, s8) + self.lateral8(s8))
        p4 = self.fuse4(_up(p8, s4) + self.lateral4(s4))
        feats = _up(_grid(base, grid), s4) + self.out(p4)
        h, w = s4.shape[-2:]
        return feats.permute(0, 2, 3, 1).reshape(feats.shape[0], h * w, -1), (h, w)


def _grid(tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Tokens (B,N,D) as a channels-last (B,D,gh,gw) view, without a copy."""
    return tokens.reshape(tokens.shape[0], *grid, -1).permute(0, 3, 1, 2)


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x.contiguous(memory_format=torch.channels_last), size=like.shape[-2:], mode="bilinear",
                         align_corners=False)
