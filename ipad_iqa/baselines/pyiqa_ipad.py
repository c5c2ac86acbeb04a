"""IPAD-CLIP (any pyiqa-registered ``ipad_clip*`` name) behind the Detector interface.

The model is reached exactly as users reach it: ``import ipad_iqa`` registers it with pyiqa, then
``pyiqa.create_metric(name)`` and ``metric(x, return_maps=True) -> IPADOutput``.
"""

from __future__ import annotations

import torch

from ipad_iqa.baselines import ops
from ipad_iqa.baselines.base import Detector, DetectorConfig
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput


class PyiqaIPADDetector(Detector):
    """Wraps a pyiqa metric whose ``return_maps=True`` output is an ``IPADOutput``."""

    def __init__(self, name: str, metric: torch.nn.Module, device: str = "cpu") -> None:
        self.name = name
        self.metric = metric
        self.device = torch.device(device)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        images = images.to(self.device, torch.float32)
        out = self.metric(images, return_maps=True)
        if not isinstance(out, tuple) or len(out) != 3:
            raise TypeError(f"{self.name}(x, return_maps=True) must return IPADOutput, got {type(out).__name__}")
        out = IPADOutput(*out)
        b = images.shape[0]
        if out.score.shape != (b, 1) or out.class_probs.shape != (b, len(ARTIFACT_CLASSES)):
            raise ValueError(f"{self.name}: bad output shapes {out.score.shape}, {out.class_probs.shape}")
        return out._replace(maps=ops.resize(out.maps.float(), tuple(images.shape[-2:])))


def build(name: str, config: DetectorConfig) -> PyiqaIPADDetector:
    """Create the pyiqa metric; a checkpoint becomes the arch's ``head_weights``, ``config.arch`` (the name's
    options) its ``arch`` and weights keywords, as in ``ipad-iqa score --metric``.

    (pyiqa forwards unknown keyword arguments to the arch, whose constructor takes these.)
    """
    import pyiqa

    import ipad_iqa  # noqa: F401  (registers the ipad_clip* metrics with pyiqa)
    from ipad_iqa.methods import ipad_options

    kwargs = ipad_options(config.arch)
    if config.checkpoint:
        if "head_weights" in kwargs:
            raise ValueError(f"{name}: head weights given twice, by a checkpoint and by head_weights=")
        kwargs["head_weights"] = config.checkpoint
    metric = pyiqa.create_metric(name, device=torch.device(config.device), **kwargs)
    return PyiqaIPADDetector(name, metric, device=config.device)
