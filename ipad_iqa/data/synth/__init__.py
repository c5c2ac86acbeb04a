"""Artifact synthesizers: pure functions ``(image, rng, params) -> SynthResult``, one module per artifact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ipad_iqa.data.synth import flare, ghosting, moire
from ipad_iqa.data.synth.common import SynthResult
from ipad_iqa.data.synth.flare import FlareParams
from ipad_iqa.data.synth.ghosting import GhostingParams
from ipad_iqa.data.synth.moire import MoireParams

SYNTHESIZERS: dict[str, Callable[[np.ndarray, np.random.Generator, Any], SynthResult]] = {
    "ghosting": ghosting.synthesize,
    "flare": flare.synthesize,
    "moire": moire.synthesize,
}

PARAMS: dict[str, type] = {"ghosting": GhostingParams, "flare": FlareParams, "moire": MoireParams}

__all__ = ["PARAMS", "SYNTHESIZERS", "FlareParams", "GhostingParams", "MoireParams", "SynthResult"]
