"""Baselines behind one interface, built by name.

``DETECTORS`` maps a method name to a factory ``(DetectorConfig) -> Detector``. Trained baselines and the
IPAD-CLIP training ablations (``trained.TRAINED_METHODS``) register the same way and read
``DetectorConfig.checkpoint``. Names starting with ``ipad_clip`` are not listed: they are resolved through
pyiqa, so every variant the plugin registers is available without an entry here.

A name may carry inference-time model options, ``NAME[key=value,...]`` (the grammar of ``ipad_iqa.methods``):
the method is built with those arch overrides (only ``ipad_clip*`` and trained methods take them). The harness
looks a checkpoint up by the full name, then by ``NAME``, so one trained file serves all its bracketed
variants.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ipad_iqa.baselines import (
    bloom,
    edge_autocorr,
    handcrafted,
    pyiqa_global,
    pyiqa_ipad,
    spectral,
    trained,
    winclip,
)
from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_maps, output_from_probs
from ipad_iqa.methods import IPAD_PREFIX, split_method

DetectorFactory = Callable[[DetectorConfig], Detector]

DETECTORS: dict[str, DetectorFactory] = {
    "spectral": spectral.build,
    "bloom": bloom.build,
    "edge_autocorr": edge_autocorr.build,
    "handcrafted": handcrafted.build,
    **{name: pyiqa_global.factory(name) for name in pyiqa_global.GLOBAL_METRICS},
    **{name: trained.factory(name) for name in trained.TRAINED_METHODS},
    **{name: winclip.factory(name) for name in winclip.WINCLIP_VARIANTS},
}

def build_detector(name: str, config: DetectorConfig | None = None) -> Detector:
    """Build a method by name; ``ipad_clip*`` goes through pyiqa, everything else through ``DETECTORS``."""
    config = config or DetectorConfig()
    base, options = split_method(name)
    if options:
        if not (base.startswith(IPAD_PREFIX) or base in trained.TRAINED_METHODS):
            raise ValueError(f"{base} takes no model options (only {IPAD_PREFIX}* and trained methods do)")
        config = DetectorConfig(config.device, config.checkpoint, {**config.arch, **options})
    if base.startswith(IPAD_PREFIX):
        return pyiqa_ipad.build(base, config)
    if base not in DETECTORS:
        raise KeyError(f"unknown method {base!r}; known: {', '.join(sorted(DETECTORS))}, {IPAD_PREFIX}*")
    return DETECTORS[base](config)


def method_fingerprint(name: str, config: DetectorConfig | None = None) -> str:
    """What a method's predictions depend on besides its name: the sha256 of its weights, found without
    building the model. A prediction cache made under another fingerprint is stale."""
    from ipad_iqa.registry import get_variant
    from ipad_iqa.weights import WeightsError, sha256_file

    config = config or DetectorConfig()
    base, _ = split_method(name)
    if config.checkpoint:
        path = Path(config.checkpoint)
        if not path.is_file():
            raise WeightsError(f"checkpoint of {name!r} not found: {path}")
        return f"checkpoint sha256 {sha256_file(path)}"
    # ipad_clip* names are variants; winclip* names run on a variant's CLIP towers: its weights decide.
    variant_name = base if base.startswith(IPAD_PREFIX) else winclip.WINCLIP_VARIANTS.get(base)
    if variant_name is None:
        return "training-free"
    variant = get_variant(variant_name)
    if variant.weights:
        return f"registry weights sha256 {variant.weights.sha256}"
    if variant.clip_pretrained:
        return f"CLIP weights {variant.clip_pretrained!r}"
    return "no trained weights (random init)"


__all__ = ["DETECTORS", "Detector", "DetectorConfig", "DetectorFactory", "build_detector", "method_fingerprint",
           "output_from_maps", "output_from_probs"]
