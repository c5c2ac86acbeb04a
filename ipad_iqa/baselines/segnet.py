"""Plain supervised segmentation baseline: a ResNet-style encoder with an FPN decoder, trained from scratch.

What a generic segmentation network learns from the same data and budget as IPAD-CLIP, with no text, no
CLIP backbone and no noise stream. Train: ``ipad-iqa train --config configs/baselines/segnet.yaml``.
"""

from __future__ import annotations

import torch

from ipad_iqa.baselines.convnet import ConvNetConfig, DenseBaseline, stage, stem


class SegNet(DenseBaseline):
    """RGB stem (stride 4) + residual stages + FPN; about 6 M parameters at the default widths."""

    def __init__(self, cfg: ConvNetConfig):
        super().__init__(cfg)
        w, d = cfg.widths, cfg.depths
        self.stem = torch.nn.Sequential(stem(3, w[0]), stage(w[0], w[0], d[0], 1))
        self.stages = torch.nn.ModuleList(stage(w[i - 1], w[i], d[i], 2) for i in range(1, len(w)))

    def entry(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)

