"""pyiqa integration: an ARCH_REGISTRY class and DEFAULT_CONFIGS entries generated from registry.yaml.

pyiqa checks ``DEFAULT_CONFIGS`` before it loads entry points, so ``import ipad_iqa`` calls ``register()``;
the entry points declared in pyproject.toml call the same function, which is idempotent.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ipad_iqa.factory import create_model
from ipad_iqa.io import validate_batch
from ipad_iqa.output import IPADOutput
from ipad_iqa.registry import user_variants
from ipad_iqa.thresholds import Thresholds

ARCH_NAME = "IPADCLIP"


class IPADCLIPArch(nn.Module):
    """What ``pyiqa.create_metric("ipad_clip*")`` builds: (B,1) scores, IPADOutput with ``return_maps``."""

    def __init__(self, variant: str, clip_weights: str | os.PathLike | None = None,
                 head_weights: str | os.PathLike | None = None, zero_shot: bool | None = None,
                 random_init: bool = False, arch: dict | None = None, **unknown: object):
        super().__init__()
        if unknown:  # pyiqa passes create_metric's keywords through; name ours instead of a bare TypeError
            hint = (" (pyiqa's pretrained_model_path is head_weights here: weights written by ipad-iqa train)"
                    if "pretrained_model_path" in unknown else "")
            raise TypeError(f"{variant} takes no option {', '.join(sorted(unknown))}{hint}; its options are "
                            "head_weights, clip_weights, zero_shot, random_init and arch")
        self.variant = variant
        self.model = create_model(variant, clip_weights=clip_weights, head_weights=head_weights,
                                  zero_shot=zero_shot, random_init=random_init, arch=arch)

    @property
    def artifact_classes(self) -> tuple[str, ...]:
        return self.model.artifact_classes

    @property
    def thresholds(self) -> Thresholds | None:
        """The operating thresholds shipped with the weights (``metric.net.thresholds.flagged(probs)``)."""
        return self.model.thresholds

    def forward(self, x: torch.Tensor, return_maps: bool = False, full_maps: bool = True,
                maps_size: tuple[int, int] | None = None) -> torch.Tensor | IPADOutput:
        """(B,1) scores, or the IPADOutput with ``return_maps``; ``full_maps=False`` leaves its maps on the
        model's map grid over the image (stride 4 for ``ipad_clip``, the patch grid for v1 and zero-shot: class
        probabilities without the cost of maps at input resolution), and ``maps_size=(h, w)`` gives maps at
        that size instead of the input's (e.g. for display)."""
        if maps_size is not None and (not isinstance(maps_size, (tuple, list)) or len(maps_size) != 2
                                      or min(maps_size) < 1):
            raise ValueError(f"maps_size must be (height, width) with both >= 1, got {maps_size!r}")
        out = self.model(validate_batch(x), full_maps=return_maps and full_maps, maps_size=maps_size)
        return out if return_maps else out.score


def default_configs() -> dict[str, dict]:
    """pyiqa DEFAULT_CONFIGS entries for every variant users see (not the random test variant, which would
    read as a metric in ``pyiqa.list_models()``, unless tests ask for it)."""
    return {
        name: {
            "metric_opts": {"type": ARCH_NAME, "variant": name},
            "metric_mode": v.pyiqa.metric_mode,
            "lower_better": v.pyiqa.lower_better,
            "score_range": v.pyiqa.score_range_str,
        }
        for name, v in user_variants().items()
    }


def register() -> None:
    """Insert our configs and arch into pyiqa; safe to call any number of times."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS
    from pyiqa.utils.registry import ARCH_REGISTRY

    for name, cfg in default_configs().items():
        DEFAULT_CONFIGS[name] = cfg
    if ARCH_NAME not in ARCH_REGISTRY._obj_map:
        ARCH_REGISTRY.register(IPADCLIPArch, name=ARCH_NAME)
