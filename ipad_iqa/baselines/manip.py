"""Manipulation-localization baseline: a noise-residual stream fused with an RGB stream (RGB-N / MVSS-style).

The noise stream sees fixed SRM high-pass residuals and a Bayar constrained convolution (each kernel's
centre is -1 and its weights sum to zero, so it can only learn prediction-error filters). Both streams are
encoded to stride 4, fused by concatenation and a 1x1 convolution, then share the deeper stages and the FPN
decoder of ``convnet``. Train: ``ipad-iqa train --config configs/baselines/manip.yaml``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ipad_iqa.baselines.convnet import ConvNetConfig, DenseBaseline, conv_bn, stage, stem

# The three 5x5 SRM residual kernels used by RGB-N (each sums to zero).
SRM_KERNELS: tuple[tuple[tuple[float, ...], ...], ...] = (
    tuple(tuple(v / 4 for v in row) for row in ((0, 0, 0, 0, 0), (0, -1, 2, -1, 0), (0, 2, -4, 2, 0),
                                                (0, -1, 2, -1, 0), (0, 0, 0, 0, 0))),
    tuple(tuple(v / 12 for v in row) for row in ((-1, 2, -2, 2, -1), (2, -6, 8, -6, 2), (-2, 8, -12, 8, -2),
                                                 (2, -6, 8, -6, 2), (-1, 2, -2, 2, -1))),
    tuple(tuple(v / 2 for v in row) for row in ((0, 0, 0, 0, 0), (0, 0, 0, 0, 0), (0, 1, -2, 1, 0),
                                                (0, 0, 0, 0, 0), (0, 0, 0, 0, 0))),
)


class SRMFilter(nn.Module):
    """Fixed SRM residuals of every RGB channel: (B,3,H,W) -> (B,9,H,W). The kernels are a buffer, not trained."""

    def __init__(self):
        super().__init__()
        k = torch.tensor(SRM_KERNELS)  # (3,5,5)
        self.register_buffer("kernels", k[:, None].repeat(3, 1, 1, 1))  # channel c -> outputs 3c..3c+2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), self.kernels, groups=3)


class ConstrainedConv(nn.Module):
    """Bayar & Stamm constrained convolution, parametrised so the constraint holds after every step.

    The effective kernel w (per output and input channel) has w[centre] = -1 and its other weights summing to
    +1: the free parameters are projected onto that affine set (centre replaced, mean shifted) at every
    forward, so no optimiser or re-projection hook is needed and the projection is exact and differentiable.
    """

    def __init__(self, cin: int, cout: int, size: int = 5):
        super().__init__()
        self.size = size
        self.raw = nn.Parameter(torch.randn(cout, cin, size, size) * 0.1)
        centre = torch.zeros(size, size, dtype=torch.bool)
        centre[size // 2, size // 2] = True
        self.register_buffer("centre", centre, persistent=False)

    def kernel(self) -> torch.Tensor:
        n_off = self.size * self.size - 1
        off = self.raw.masked_fill(self.centre, 0.0)
        off_mean = off.sum(dim=(2, 3), keepdim=True) / n_off
        off = (off - off_mean + 1.0 / n_off).masked_fill(self.centre, 0.0)
        return off.masked_fill(self.centre, -1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.size // 2
        return F.conv2d(F.pad(x, (p, p, p, p), mode="replicate"), self.kernel())


class ManipNet(DenseBaseline):
    """RGB stream + noise stream (SRM + constrained conv), fused at stride 4; about 7 M parameters by default."""

    def __init__(self, cfg: ConvNetConfig, n_constrained: int = 3):
        super().__init__(cfg)
        w, d = cfg.widths, cfg.depths
        self.srm = SRMFilter()
        self.constrained = ConstrainedConv(3, n_constrained)
        self.rgb = nn.Sequential(stem(3, w[0]), stage(w[0], w[0], d[0], 1))
        self.noise = nn.Sequential(stem(9 + n_constrained, w[0]), stage(w[0], w[0], d[0], 1))
        self.fuse_streams = conv_bn(2 * w[0], w[0], kernel=1)
        self.stages = nn.ModuleList(stage(w[i - 1], w[i], d[i], 2) for i in range(1, len(w)))

    def entry(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.cat([self.srm(x), self.constrained(x)], dim=1)
        return self.fuse_streams(torch.cat([self.rgb(x), self.noise(noise)], dim=1))

