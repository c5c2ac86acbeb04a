"""Property-based checks of the output contract over random shapes and values (hypothesis).

Whatever valid image comes in (any size from the 32-px minimum, tiled or not, gray or RGB, float32 or
float64, flat, saturated, noisy or high-contrast), the metric returns finite numbers in [0, 1] of the
documented shapes, the same for an image alone as inside a batch. Most examples use the tiny
``ipad_clip_test`` model for speed; a few run the default ``ipad_clip``.
"""

from __future__ import annotations

import pyiqa
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ipad_iqa

PATTERNS = ("uniform", "zeros", "ones", "checker", "sparse", "gradient")


@pytest.fixture(scope="module")
def tiny():
    return pyiqa.create_metric("ipad_clip_test", device="cpu")


@pytest.fixture(scope="module")
def default():
    return pyiqa.create_metric("ipad_clip", device="cpu")


def _image(batch: int, channels: int, height: int, width: int, pattern: str, seed: int,
           dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (batch, channels, height, width)
    if pattern == "uniform":
        x = torch.rand(shape, generator=g)
    elif pattern in ("zeros", "ones"):
        x = torch.full(shape, float(pattern == "ones"))
    elif pattern == "checker":  # maximal local contrast, period 2 px
        yy, xx = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        x = ((yy + xx) % 2).float().expand(shape).clone()
    elif pattern == "sparse":  # a dark image with a few saturated pixels
        x = (torch.rand(shape, generator=g) > 0.995).float()
    else:
        x = torch.linspace(0, 1, width).expand(shape).clone()
    return x.to(dtype)


def _check_contract(out: ipad_iqa.IPADOutput, batch: int, height: int, width: int) -> None:
    assert isinstance(out, ipad_iqa.IPADOutput)
    assert out.score.shape == (batch, 1)
    assert out.class_probs.shape == (batch, len(ipad_iqa.ARTIFACT_CLASSES))
    assert out.maps.shape == (batch, len(ipad_iqa.ARTIFACT_CLASSES), height, width)
    for name, t in zip(out._fields, out, strict=True):
        assert t.dtype == torch.float32, name
        assert torch.isfinite(t).all(), name
        assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0, name
    # score = 1 - probability of the most likely artifact
    torch.testing.assert_close(out.score[:, 0], 1 - out.class_probs.max(dim=1).values, atol=1e-6, rtol=0)


images = st.fixed_dictionaries({
    "batch": st.integers(1, 3),
    "channels": st.sampled_from([3, 3, 1]),
    # the tiny model's tile is 64 px: sizes from the minimum to several tiles, square or not
    "height": st.integers(32, 200),
    "width": st.integers(32, 200),
    "pattern": st.sampled_from(PATTERNS),
    "seed": st.integers(0, 2**16),
    "dtype": st.sampled_from([torch.float32, torch.float64]),
})


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=images)
def test_tiny_outputs_finite_in_range_and_shaped(tiny, spec: dict) -> None:
    x = _image(**spec)
    out = tiny(x, return_maps=True)
    _check_contract(out, spec["batch"], spec["height"], spec["width"])
    assert torch.equal(tiny(x), out.score)  # the score alone is the same number
    last = tiny(x[-1:], return_maps=True)  # alone or in a batch: the same result, bit for bit
    for a, b in zip(last, out, strict=True):
        assert torch.equal(a, b[-1:])


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.fixed_dictionaries({
    "batch": st.just(1),
    "channels": st.sampled_from([3, 1]),
    "height": st.integers(32, 260),  # past the 224-px tile: global view plus tiles
    "width": st.integers(32, 260),
    "pattern": st.sampled_from(PATTERNS),
    "seed": st.integers(0, 2**16),
    "dtype": st.just(torch.float32),
}))
def test_default_outputs_finite_in_range_and_shaped(default, spec: dict) -> None:
    out = default(_image(**spec), return_maps=True)
    _check_contract(out, 1, spec["height"], spec["width"])
