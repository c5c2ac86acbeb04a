"""Adaptation of patch features (v1 also steers them toward the anchors), and the map/score read-out."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class AnchorAdapter(nn.Module):
    """Residual bottleneck adapter followed by a pull toward the anchors each patch matches.

    Both parts start as the identity (zero-initialised up-projection and pull strength), so a frozen
    pretrained backbone keeps its behaviour at step 0; training moves patch features from semantics toward
    the low-level artifact anchors they resemble.
    """

    def __init__(self, dim: int, reduction: int, use_adapter: bool, steering: bool, temperature: float):
        super().__init__()
        self.use_adapter, self.steering, self.temperature = use_adapter, steering, temperature
        if use_adapter:
            self.down = nn.Linear(dim, max(dim // reduction, 8))
            self.up = nn.Linear(max(dim // reduction, 8), dim)
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)
        if steering:
            self.strength = nn.Parameter(torch.zeros(1))

    def forward(self, patches: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        """patches (B,N,D) in the joint space; anchors (B,K,D) unit norm."""
        h = patches
        if self.use_adapter:
            h = h + self.up(F.gelu(self.down(h)))
        if self.steering:
            match = torch.softmax(F.normalize(h, dim=-1) @ anchors.transpose(1, 2) / self.temperature, dim=-1)
            h = h + self.strength * h.norm(dim=-1, keepdim=True) * (match @ anchors)
        return h

    def logits(self, patches: torch.Tensor, anchors: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """``anchor_logits(self(patches, anchors), anchors, scale)``, (B,N,K), for an adapter without the
        bottleneck (the dense head's).

        The steered features are never made: every quantity the logits need follows from the projections on the
        K anchors and the features' norms (below). For the dense head's stride-4 pixels, the widest tensor of a
        forward, that reads them once instead of four times.
        """
        if self.use_adapter:
            raise ValueError("logits() computes steering only; an adapter with a bottleneck is called instead")
        return steered_anchor_logits(patches, anchors, scale, self.strength if self.steering else None,
                                     self.temperature)


class LinearAdapter(nn.Module):
    """APRIL-GAN-style head: one linear map of a layer's patch tokens into the text space, no steering.

    Initialised to the identity so that step 0 scores the projected tokens as they are.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        nn.init.eye_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, patches: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        """Same signature as AnchorAdapter; the anchors are not used."""
        return self.linear(patches)


def anchor_logits(features: torch.Tensor, anchors: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Scaled cosine between features (B,N,D) and anchors (B,K,D) -> (B,N,K)."""
    return scale * F.normalize(features, dim=-1) @ anchors.transpose(1, 2)


def steered_anchor_logits(features: torch.Tensor, anchors: torch.Tensor, scale: torch.Tensor,
                          strength: torch.Tensor | None, temperature: float) -> torch.Tensor:
    """Scaled cosine (B,N,K) between the anchors and ``h = f + strength |f| (m @ A)``, the steered features
    (``AnchorAdapter`` without bottleneck; m: softmax of f's cosines with the anchors / temperature), from
    u = f A^T and |f| alone: h A^T = u + s |f| (m G) and |h|^2 = |f|^2 + 2 s |f| (m . u) + s^2 |f|^2 (m G m^T),
    G = A A^T the anchors' Gram matrix.
    """
    eps = 1e-12  # F.normalize's
    u = features @ anchors.transpose(1, 2)
    norm = features.norm(dim=-1, keepdim=True)
    if strength is not None:
        match = torch.softmax(u / norm.clamp_min(eps) / temperature, dim=-1)
        mg = match @ (anchors @ anchors.transpose(1, 2))
        sn = strength * norm
        squared = norm.square() + 2 * sn * (match * u).sum(-1, keepdim=True) + sn.square() * (mg * match).sum(
            -1, keepdim=True)
        u, norm = u + sn * mg, squared.clamp_min(0).sqrt()
    return scale * u / norm.clamp_min(eps)


def gaussian_smooth(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B,C,H,W) grids; sigma in grid cells, 0 disables it.

    Weighted sums of shifted views, not a convolution: the CPU's depthwise convolution unfolds its input once per
    tap, 0.7 GB for the 80 MB stride-4 grid of a 10000x8000 image; this needs two grid-sized buffers.
    """
    if sigma <= 0:
        return maps
    radius = max(1, math.ceil(2 * sigma))
    taps = [math.exp(-(i * i) / (2 * sigma**2)) for i in range(-radius, radius + 1)]
    taps = [t / sum(taps) for t in taps]
    pad_mode = "reflect" if min(maps.shape[-2:]) > radius else "replicate"

    def blur_last(x: torch.Tensor, pad: tuple[int, int, int, int], dim: int) -> torch.Tensor:
        padded = F.pad(x, pad, mode=pad_mode)
        n = x.shape[dim]
        out = padded.narrow(dim, 0, n) * taps[0]
        for i, t in enumerate(taps[1:], start=1):
            out.add_(padded.narrow(dim, i, n), alpha=t)
        return out

    rows = blur_last(maps, (radius, radius, 0, 0), -1)
    return blur_last(rows, (0, 0, radius, radius), -2)


def topk_pool(maps: torch.Tensor, ratio: float) -> torch.Tensor:
    """Mean of the top ``ratio`` fraction of each map (B,C,H,W) -> (B,C): local evidence for the image.

    One channel at a time, so a very large grid is never copied whole."""
    k = max(1, math.ceil(ratio * maps.shape[-2] * maps.shape[-1]))
    return torch.stack([maps[:, c].reshape(maps.shape[0], -1).topk(k, dim=-1).values.mean(-1)
                        for c in range(maps.shape[1])], dim=1)


def class_token_probs(cls_logits: torch.Tensor) -> torch.Tensor:
    """Artifact probabilities (B,3) of a class-token prediction over the states (B,4)."""
    return cls_logits.softmax(dim=-1)[:, 1:]


def fuse_probs(cls_probs: torch.Tensor, grid_probs: torch.Tensor, cls_weight: float, topk_ratio: float
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """class_probs (B,3): class-token artifact probabilities (B,3) fused with top-k pooled maps (B,4,h,w);
    score = 1 - max class."""
    pooled = topk_pool(grid_probs[:, 1:], topk_ratio)
    class_probs = cls_weight * cls_probs + (1 - cls_weight) * pooled
    score = 1 - class_probs.max(dim=-1, keepdim=True).values
    return class_probs.clamp(0, 1), score.clamp(0, 1)
