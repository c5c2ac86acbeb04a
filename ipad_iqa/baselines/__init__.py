"""Baselines behind one interface, built by name.

``DETECTORS`` maps a method name to a factory ``(DetectorConfig) -> Detector``. Trained baselines register
the same way and read ``DetectorConfig.checkpoint``. Names starting with ``ipad_clip`` are not listed: they
are resolved through pyiqa, so every variant the plugin registers is available without an entry here.
"""

from __future__ import annotations

from collections.abc import Callable

from ipad_iqa.baselines import bloom, edge_autocorr, handcrafted, pyiqa_global, pyiqa_ipad, spectral
from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_maps, output_from_probs

DetectorFactory = Callable[[DetectorConfig], Detector]

DETECTORS: dict[str, DetectorFactory] = {
    "spectral": spectral.build,
    "bloom": bloom.build,
    "edge_autocorr": edge_autocorr.build,
    "handcrafted": handcrafted.build,
    **{name: pyiqa_global.factory(name) for name in pyiqa_global.GLOBAL_METRICS},
}

IPAD_PREFIX = "ipad_clip"


def build_detector(name: str, config: DetectorConfig | None = None) -> Detector:
    """Build a method by name; ``ipad_clip*`` goes through pyiqa, everything else through ``DETECTORS``."""
    config = config or DetectorConfig()
    if name.startswith(IPAD_PREFIX):
        return pyiqa_ipad.build(name, config)
    if name not in DETECTORS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(sorted(DETECTORS))}, {IPAD_PREFIX}*")
    return DETECTORS[name](config)


__all__ = ["DETECTORS", "Detector", "DetectorConfig", "DetectorFactory", "build_detector",
           "output_from_maps", "output_from_probs"]
