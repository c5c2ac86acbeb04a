"""Shared parts of the supervised CNN baselines (segnet, manip): blocks, FPN decoder, training protocol.

A ``DenseBaseline`` speaks the protocol of ``ipad_iqa.baselines.networks.ArtifactModel`` so that the same loop,
loss and evaluation harness serve it: 4-state logits (clean, ghosting, flare, moire) at 1/4 resolution plus
image logits from globally pooled deep features. It is fully convolutional and runs at native resolution:
inputs are padded to a multiple of the encoder stride and maps cropped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ipad_iqa.model.heads import class_token_probs, fuse_probs
from ipad_iqa.model.ipad_clip import ViewOutput
from ipad_iqa.model.tiling import pad_to
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS, IPADOutput
from ipad_iqa.utils import typed_fields

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ConvNetConfig:
    """Network options of a CNN baseline: the ``arch`` section of its training config (our choices)."""

    widths: tuple[int, ...] = (48, 96, 192, 384)  # encoder stages at strides 4, 8, 16, 32
    depths: tuple[int, ...] = (2, 2, 2, 2)  # residual blocks per stage
    decoder_width: int = 96
    cls_weight: float = 0.5  # as IPAD-CLIP: class head fused with top-k pooled maps
    topk_ratio: float = 0.02

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.depths) or not self.widths:
            raise ValueError(f"widths {self.widths} and depths {self.depths} must be non-empty, same length")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvNetConfig:
        return cls(**typed_fields(cls, data, "network option(s)"))

    @property
    def stride(self) -> int:
        """Total downsampling of the deepest stage: inputs are padded to a multiple of it."""
        return 4 * 2 ** (len(self.widths) - 1)


def conv_bn(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convolutions and a shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.short = (nn.Identity() if stride == 1 and cin == cout else
                      nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.short(x))


def stage(cin: int, cout: int, depth: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(cin, cout, stride), *(BasicBlock(cout, cout) for _ in range(depth - 1)))


def stem(cin: int, cout: int) -> nn.Sequential:
    """Two stride-2 convolutions: stride 4, where the logits live."""
    return nn.Sequential(conv_bn(cin, cout // 2, 2), conv_bn(cout // 2, cout, 2))


class FPNDecoder(nn.Module):
    """Top-down pathway with lateral 1x1 convolutions; 4-state logits at the finest (stride-4) level."""

    def __init__(self, widths: tuple[int, ...], width: int):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(w, width, 1) for w in widths)
        self.smooth = conv_bn(width, width)
        self.classify = nn.Conv2d(width, len(LABELS), 1)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = self.lateral[-1](feats[-1])
        for lateral, f in zip(self.lateral[-2::-1], feats[-2::-1], strict=True):
            x = lateral(f) + F.interpolate(x, size=f.shape[-2:], mode="bilinear", align_corners=False)
        return self.classify(self.smooth(x))


class DenseBaseline(nn.Module):
    """Base of the CNN baselines. Subclasses define ``entry`` (stride-4 features of the input) and
    ``self.stages`` (each halving the resolution); ``encode`` returns the entry and every stage's output."""

    artifact_classes: tuple[str, ...] = ARTIFACT_CLASSES
    head_prefixes: tuple[str, ...] = ("",)  # everything is trained, saved and required on load

    def __init__(self, cfg: ConvNetConfig):
        super().__init__()
        self.cfg = cfg
        self.decoder = FPNDecoder(cfg.widths, cfg.decoder_width)
        self.cls_head = nn.Linear(2 * cfg.widths[-1], len(LABELS))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    stages: nn.ModuleList

    def entry(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.entry(x)]
        for s in self.stages:
            feats.append(s(feats[-1]))
        return feats

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def text_anchors(self) -> torch.Tensor:
        """No text side: an empty tensor keeps the loop's protocol."""
        return self.mean.new_zeros(0)

    def separation_loss(self, t: torch.Tensor) -> torch.Tensor:
        return self.mean.new_zeros(())

    def forward_views(self, views: torch.Tensor, t: torch.Tensor) -> ViewOutput:
        """Normalised views (B,3,h,w), h and w multiples of ``cfg.stride``."""
        feats = self.encode(views)
        logits = self.decoder(feats)
        deep = feats[-1]
        emb = torch.cat([deep.mean(dim=(2, 3)), deep.amax(dim=(2, 3))], dim=1)  # max keeps small local evidence
        return ViewOutput([logits], logits.softmax(dim=1), self.cls_head(emb), emb)

    def fuse(self, cls_logits: torch.Tensor, grid_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return fuse_probs(class_token_probs(cls_logits), grid_probs, self.cfg.cls_weight,
                          self.cfg.topk_ratio)

    def forward(self, x: torch.Tensor) -> IPADOutput:
        """(B,3,H,W) in [0,1], any size: padded to the stride, maps cropped back to the input resolution."""
        h, w = x.shape[-2:]
        s = self.cfg.stride
        hp, wp = -(-h // s) * s, -(-w // s) * s
        view = self.forward_views(self.normalize(pad_to(x, hp, wp)), self.text_anchors())
        class_probs, score = self.fuse(view.cls_logits, view.probs)
        maps = F.interpolate(view.probs[:, 1:], size=(hp, wp), mode="bilinear", align_corners=False)
        return IPADOutput(score, class_probs, maps[..., :h, :w].clamp(0, 1))
