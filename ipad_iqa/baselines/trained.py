"""Methods trained by ``ipad-iqa train`` (baselines and IPAD-CLIP ablations), loaded from their checkpoints.

A name maps to the training method its checkpoint must have been trained as and to the recipe that trains
it; the checkpoint's metadata rebuilds the model (see ``ipad_iqa.baselines.networks.load_trained``). Several names
may share a method: the IPAD-CLIP training ablations are all ``method: ipad`` with different ``arch``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from ipad_iqa.baselines.base import Detector, DetectorConfig
from ipad_iqa.baselines.networks import load_trained
from ipad_iqa.io import validate_batch
from ipad_iqa.output import IPADOutput
from ipad_iqa.weights import WeightsError


class TrainedMethod(NamedTuple):
    method: str  # TrainConfig.method the checkpoint must carry
    recipe: str  # config that trains it, relative to the repository root
    run_dir: str  # its out_dir
    summary: str  # one line for ``ipad-iqa list``


def _entry(method: str, recipe: str, summary: str) -> TrainedMethod:
    stem = recipe.removeprefix("configs/").removesuffix(".yaml")
    return TrainedMethod(method, recipe, f"runs/{stem}", summary)


TRAINED_METHODS: dict[str, TrainedMethod] = {
    "aprilgan": _entry("aprilgan", "configs/baselines/aprilgan.yaml",
                       "APRIL-GAN-style CLIP head: linear per-layer maps against hand-written prompts"),
    "anomalyclip": _entry("anomalyclip", "configs/baselines/anomalyclip.yaml",
                          "AnomalyCLIP-style CLIP head: object-agnostic learned prompts, class-token score"),
    "manip": _entry("manip", "configs/baselines/manip.yaml",
                    "manipulation-localization CNN: SRM and constrained-conv noise stream fused with RGB"),
    "segnet": _entry("segnet", "configs/baselines/segnet.yaml",
                     "plain segmentation CNN: ResNet-style encoder and FPN decoder, from scratch"),
    "ipad_ref": _entry("ipad", "configs/ablations/ipad_ref.yaml",
                       "ablation reference: IPAD-CLIP's head on the frozen ipad_clip towers, comparison budget"),
    "ipad_agnostic": _entry("ipad", "configs/ablations/ipad_agnostic.yaml",
                            "ablation of ipad_ref: object-agnostic prompts"),
    "ipad_no_adapt": _entry("ipad", "configs/ablations/ipad_no_adapt.yaml",
                            "ablation of ipad_ref: no adapters, no anchor steering"),
}


class TrainedDetector(Detector):
    """A trained ``ArtifactModel`` behind the Detector interface (maps at the input resolution)."""

    def __init__(self, name: str, model: torch.nn.Module, device: str = "cpu") -> None:
        self.name, self.model, self.device = name, model, torch.device(device)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        return self.model(validate_batch(images).to(self.device, torch.float32))


def factory(name: str) -> Callable[[DetectorConfig], TrainedDetector]:
    """The METHODS factory of ``name``: needs ``config.checkpoint`` and says how to get one otherwise."""
    spec = TRAINED_METHODS[name]

    def build(config: DetectorConfig) -> TrainedDetector:
        if not config.checkpoint:
            raise WeightsError(
                f"{name} is a trained method and needs a checkpoint: train it with `ipad-iqa train --config "
                f"{spec.recipe} --clean-dir DIR`, then pass `--checkpoint {name}={spec.run_dir}/last.safetensors`")
        model = load_trained(config.checkpoint, arch=config.arch, device=config.device, expect_method=spec.method)
        return TrainedDetector(name, model, config.device)

    return build
