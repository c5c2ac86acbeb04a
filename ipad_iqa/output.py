"""The typed result every IPAD model and baseline returns."""

from __future__ import annotations

from typing import NamedTuple

import torch

#: Channel order of ``class_probs`` and ``maps`` everywhere in the project.
ARTIFACT_CLASSES: tuple[str, ...] = ("ghosting", "flare", "moire")
#: Image labels, also the states the models predict: clean, then the artifact classes (label index = position).
LABELS: tuple[str, ...] = ("clean", *ARTIFACT_CLASSES)


class IPADOutput(NamedTuple):
    """Score, per-class probabilities and per-class maps of a batch.

    ``score`` comes first so that pyiqa's ``as_loss=True`` (which keeps the first item of a tuple) works.
    """

    score: torch.Tensor  # (B, 1) in [0, 1]; 1 = no local artifact
    class_probs: torch.Tensor  # (B, 3) in [0, 1], order ARTIFACT_CLASSES
    maps: torch.Tensor  # (B, 3, H, W) in [0, 1]: the input's size, maps_size's, or the map grid (full_maps=False)
