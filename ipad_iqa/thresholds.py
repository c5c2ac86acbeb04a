"""Operating thresholds: when a class probability means "this photo shows that artifact".

A probability alone does not say where to draw the line; a user scoring a folder needs a decision. Each class
gets the threshold at which a stated share of clean photos (``target_fpr``) would be flagged, measured on the
validation split of IPAD-Synth v2 (``ipad-iqa calibrate``). The thresholds and what was measured with them
(recall, precision, the false-positive rate reached) travel in the weights file's metadata, so the numbers
always belong to the weights that produce the probabilities.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ipad_iqa.output import ARTIFACT_CLASSES

METADATA_KEY = "thresholds"


#: Joins the names of an image's flagged classes in a results cell ("flare+moire"); "none": nothing flagged.
FLAG_SEPARATOR = "+"
NOTHING_FLAGGED = "none"


def flag_label(names: tuple[str, ...]) -> str:
    """One results cell for the flagged class names of one image."""
    return FLAG_SEPARATOR.join(names) or NOTHING_FLAGGED


@dataclass(frozen=True)
class Thresholds:
    """Per-class thresholds on ``class_probs`` (a class is flagged when its probability is above its value)."""

    values: dict[str, float]
    target_fpr: float  # share of clean validation photos flagged per class, at most
    calibrated_on: str  # what the thresholds were chosen on, e.g. "IPAD-Synth v2 val, 431 images"
    measured: dict[str, dict[str, float]] = field(default_factory=dict)  # class -> recall, precision, fpr, n
    checked_on: str = ""  # held-out data the thresholds were checked on afterwards (not chosen on), if any
    checked: dict[str, dict[str, float]] = field(default_factory=dict)  # the same figures there

    def flags(self, class_probs: torch.Tensor | np.ndarray) -> np.ndarray:
        """(B, 3) booleans, classes in ``ARTIFACT_CLASSES`` order: which artifacts each image is flagged for."""
        probs = class_probs.detach().cpu().numpy() if isinstance(class_probs, torch.Tensor) else class_probs
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[1] != len(ARTIFACT_CLASSES):
            raise ValueError(f"class_probs must be (B, {len(ARTIFACT_CLASSES)}), got shape {probs.shape}")
        return probs > np.array([self.values[c] for c in ARTIFACT_CLASSES])

    def flagged(self, class_probs: torch.Tensor | np.ndarray) -> list[tuple[str, ...]]:
        """Per image, the names of the flagged classes (empty: no artifact called)."""
        return [tuple(c for c, f in zip(ARTIFACT_CLASSES, row, strict=True) if f) for row in self.flags(class_probs)]

    def labels(self, class_probs: torch.Tensor | np.ndarray) -> list[str]:
        """Per image, its flagged classes as one table cell: ``"flare+moire"``, or ``"none"``."""
        return [flag_label(names) for names in self.flagged(class_probs)]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Thresholds:
        missing = [c for c in ARTIFACT_CLASSES if c not in data.get("values", {})]
        if missing:
            raise ValueError(f"thresholds without a value for {missing}")
        return cls(values={c: float(data["values"][c]) for c in ARTIFACT_CLASSES},
                   target_fpr=float(data["target_fpr"]), calibrated_on=str(data["calibrated_on"]),
                   measured=data.get("measured", {}), checked_on=data.get("checked_on", ""),
                   checked=data.get("checked", {}))

    @classmethod
    def from_metadata(cls, metadata: dict) -> Thresholds | None:
        """The thresholds stored in a weights file's metadata, or None for weights calibrated never."""
        return cls.from_json(metadata[METADATA_KEY]) if METADATA_KEY in metadata else None
