"""The three training-free map detectors as one three-class method (each fills its own channel)."""

from __future__ import annotations

import torch

from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_maps
from ipad_iqa.baselines.bloom import BloomDetector
from ipad_iqa.baselines.edge_autocorr import EdgeAutocorrDetector
from ipad_iqa.baselines.spectral import SpectralPeakDetector
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput


class HandcraftedDetector(Detector):
    """edge_autocorr (ghosting) + bloom (flare) + spectral (moire)."""

    name = "handcrafted"

    def __init__(self, device: str = "cpu") -> None:
        self.parts: tuple[Detector, ...] = (
            EdgeAutocorrDetector(device=device), BloomDetector(device=device), SpectralPeakDetector(device=device),
        )

    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        maps = sum(part.predict(images).maps for part in self.parts)
        return output_from_maps(maps, ARTIFACT_CLASSES)


def build(config: DetectorConfig) -> HandcraftedDetector:
    return HandcraftedDetector(device=config.device)
