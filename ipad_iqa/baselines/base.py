"""The one interface every baseline (training-free, trained, or IPAD-CLIP itself) is evaluated through."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch

from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput


@dataclass(frozen=True)
class DetectorConfig:
    """What a factory may need; trained baselines read ``checkpoint``, training-free ones ignore it.

    ``arch``: inference-time model options from a method name such as ``ipad_clip[cls_weight=1.0]``; methods
    without options refuse them.
    """

    device: str = "cpu"
    checkpoint: str | None = None
    arch: dict[str, Any] = field(default_factory=dict)


class Detector(ABC):
    """Predicts per-class artifact maps and probabilities for a batch of RGB images in [0, 1].

    ``classes``: the artifact classes the method addresses; the harness reports the others as n/a.
    ``has_maps``: False for image-level methods, whose maps are the image probability broadcast, so the
    harness reports their pixel metrics as n/a. ``needs_reference``: full-reference methods get the clean
    source image as ``references``.
    """

    name: str
    classes: tuple[str, ...] = ARTIFACT_CLASSES
    has_maps: bool = True
    needs_reference: bool = False

    @abstractmethod
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        """(B, 3, H, W) in [0, 1] -> IPADOutput with maps at the input resolution."""


def output_from_maps(maps: torch.Tensor, classes: tuple[str, ...], top_fraction: float = 0.01) -> IPADOutput:
    """Turn (B, 3, H, W) maps into an IPADOutput; a class's probability is the mean of its top pixels.

    The top-fraction mean rather than the max makes the image probability robust to single hot pixels while
    still responding to a small local artifact. Channels of classes not in ``classes`` are zeroed.
    """
    maps = maps.clamp(0, 1)
    keep = torch.tensor([c in classes for c in ARTIFACT_CLASSES], device=maps.device)
    maps = maps * keep.view(1, -1, 1, 1)
    flat = maps.flatten(2)
    k = max(1, int(flat.shape[-1] * top_fraction))
    probs = flat.topk(k, dim=-1).values.mean(-1)
    score = 1.0 - probs.max(dim=1, keepdim=True).values
    return IPADOutput(score=score, class_probs=probs, maps=maps)


def output_from_probs(probs: torch.Tensor, size: tuple[int, int]) -> IPADOutput:
    """Image-level (B, 3) probabilities -> IPADOutput with the probabilities broadcast as maps."""
    probs = probs.clamp(0, 1)
    maps = probs[:, :, None, None].expand(-1, -1, *size).contiguous()
    return IPADOutput(score=1.0 - probs.max(dim=1, keepdim=True).values, class_probs=probs, maps=maps)
