"""Choose and measure the operating thresholds of ``ipad_iqa.thresholds`` from image-level predictions."""

from __future__ import annotations

import numpy as np

from ipad_iqa.output import ARTIFACT_CLASSES
from ipad_iqa.thresholds import Thresholds


def threshold_at_fpr(clean_probs: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold that flags (``p > t``) at most ``target_fpr`` of ``clean_probs``."""
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in [0, 1), got {target_fpr}")
    if len(clean_probs) == 0:
        raise ValueError("no clean images to calibrate on")
    ordered = np.sort(np.asarray(clean_probs, dtype=np.float64))
    allowed = int(np.floor(target_fpr * len(ordered) + 1e-9))  # clean images that may lie above the threshold
    return float(ordered[len(ordered) - 1 - allowed])


def measure(labels: np.ndarray, probs: np.ndarray, values: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per class: recall on its own images, precision among all flagged images, false-positive rate on clean
    images, and the counts behind them. ``labels``: 0 clean, k the k-th artifact class (``LABELS`` order)."""
    out = {}
    for k, cls in enumerate(ARTIFACT_CLASSES):
        flagged = probs[:, k] > values[cls]
        own, clean = labels == k + 1, labels == 0
        out[cls] = {"recall": float(flagged[own].mean()) if own.any() else float("nan"),
                    "precision": float(own[flagged].mean()) if flagged.any() else float("nan"),
                    "fpr": float(flagged[clean].mean()) if clean.any() else float("nan"),
                    "n_class": int(own.sum()), "n_clean": int(clean.sum()), "n_flagged": int(flagged.sum())}
    return out


def calibrate(labels: np.ndarray, probs: np.ndarray, target_fpr: float, calibrated_on: str) -> Thresholds:
    """Per-class thresholds at ``target_fpr`` on the clean images, with what they reach on the same images."""
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(labels), len(ARTIFACT_CLASSES)):
        raise ValueError(f"probs must be ({len(labels)}, {len(ARTIFACT_CLASSES)}), got {probs.shape}")
    values = {cls: threshold_at_fpr(probs[labels == 0, k], target_fpr) for k, cls in enumerate(ARTIFACT_CLASSES)}
    return Thresholds(values=values, target_fpr=target_fpr, calibrated_on=calibrated_on,
                      measured=measure(labels, probs, values))
