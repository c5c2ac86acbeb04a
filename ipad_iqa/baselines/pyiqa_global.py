"""pyiqa's global IQA metrics as image-level artifact detectors.

They give one number per image and no map, which is the point of including them: a global quality score
can drop for many reasons and cannot say where an artifact is. ``psnr`` and ``ssim`` need the clean source.
"""

from __future__ import annotations

import re

import torch

from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_probs
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput

#: The metrics, each with its one line for ``ipad-iqa list``.
GLOBAL_METRICS: dict[str, str] = {
    "piqe": "pyiqa's PIQE: one no-reference quality score per image, no map",
    "entropy": "pyiqa's entropy: one no-reference score per image, no map",
    "psnr": "pyiqa's PSNR against the clean twin (full-reference: benchmark only), no map",
    "ssim": "pyiqa's SSIM against the clean twin (full-reference: benchmark only), no map",
}


def parse_score_range(text: str) -> tuple[float, float]:
    """pyiqa's ``score_range`` string such as ``'~0, ~40'`` -> (0.0, 40.0)."""
    lo, hi = (float(re.sub(r"[^0-9.eE+-]", "", part)) for part in text.split(","))
    return lo, hi


def is_full_reference(metric_name: str) -> bool:
    """Whether a pyiqa metric compares each image with its clean source (pyiqa's ``metric_mode`` FR)."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    return DEFAULT_CONFIGS[metric_name]["metric_mode"] == "FR"


def artifact_probability(score: torch.Tensor, score_range: tuple[float, float], lower_better: bool) -> torch.Tensor:
    """Strictly monotone map of a quality score to an artifact probability in (0, 1).

    Worse quality -> higher probability: increasing in the score when ``lower_better`` (e.g. PIQE),
    decreasing otherwise (PSNR, SSIM, entropy). A logistic centred on the middle of pyiqa's nominal range
    rather than a clip, so out-of-range scores (PSNR of identical images) keep their order without ties.
    """
    lo, hi = score_range
    z = (score - (lo + hi) / 2) / ((hi - lo) / 8)
    return torch.sigmoid(z if lower_better else -z)


class PyiqaGlobalDetector(Detector):
    """Any pyiqa metric as an image-level detector; the same probability is given to every class."""

    has_maps = False

    def __init__(self, metric_name: str, device: str = "cpu") -> None:
        import pyiqa
        from pyiqa.default_model_configs import DEFAULT_CONFIGS

        cfg = DEFAULT_CONFIGS[metric_name]
        self.name = metric_name
        self.device = torch.device(device)
        self.metric = pyiqa.create_metric(metric_name, device=self.device)
        self.needs_reference = is_full_reference(metric_name)
        self.lower_better = bool(self.metric.lower_better)
        self.score_range = parse_score_range(cfg["score_range"])

    @torch.no_grad()
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        images = images.to(self.device, torch.float32)
        if self.needs_reference:
            if references is None:
                raise ValueError(f"{self.name} is full-reference and needs the clean source images")
            score = self.metric(images, references.to(self.device, torch.float32))
        else:
            score = self.metric(images)
        prob = artifact_probability(score.reshape(-1).float(), self.score_range, self.lower_better)
        probs = prob[:, None].expand(-1, len(ARTIFACT_CLASSES))
        return output_from_probs(probs, tuple(images.shape[-2:]))


def factory(metric_name: str):
    """Registry factory for one pyiqa metric name."""

    def build(config: DetectorConfig) -> PyiqaGlobalDetector:
        return PyiqaGlobalDetector(metric_name, device=config.device)

    return build
