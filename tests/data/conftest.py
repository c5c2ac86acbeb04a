"""Shared fixtures for the data tests: small licence-clean pictures from scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def _resized(img: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR)).astype(np.float32) / 255.0


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """A few RGB photos at 160 px (one non-square), float32 sRGB."""
    import skimage.data as sd

    return {
        "astronaut": _resized(sd.astronaut(), 160, 160),
        "coffee": _resized(sd.coffee(), 120, 180),
        "rocket": _resized(sd.rocket(), 160, 160),
    }
