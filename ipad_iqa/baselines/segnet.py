"""Plain supervised segmentation baseline: a ResNet-style encoder with an FPN decoder, trained from scratch.

What a generic segmentation network learns from the same data and budget as IPAD-CLIP, with no text, no
CLIP backbone and no noise stream. Train: ``ipad-iqa train --config configs/baselines/segnet.yaml``.
"""

from __future__ import annotations

import torch

from ipad_iqa.baselines.convnet import ConvNetConfig, DenseBaseline, stage, stem
from ipad_iqa.train.config import TrainConfig


class SegNet(DenseBaseline):
    """RGB stem (stride 4) + residual stages + FPN; about 6 M parameters at the default widths."""

    def __init__(self, cfg: ConvNetConfig):
        super().__init__(cfg)
        w, d = cfg.widths, cfg.depths
        self.stem = stem(3, w[0])
        self.stages = torch.nn.ModuleList(
            stage(w[max(i - 1, 0)], w[i], d[i], 1 if i == 0 else 2) for i in range(len(w)))

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats, h = [], self.stem(x)
        for s in self.stages:
            h = s(h)
            feats.append(h)
        return feats


def build_model(cfg: TrainConfig) -> SegNet:
    return SegNet(ConvNetConfig.from_dict(cfg.arch))
