"""pyiqa-style generic checks run on every registered ipad_clip* variant."""

import subprocess
import sys

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image

import ipad_iqa
from ipad_iqa.registry import load_registry

VARIANTS = list(load_registry())


def _needs_random(name: str) -> dict:
    """Variants whose weights cannot exist offline are built with random weights (same architecture)."""
    v = load_registry()[name]
    return {} if (v.weights is not None or v.allow_random_init) else {"random_init": True}


@pytest.fixture(scope="module", params=VARIANTS)
def metric(request):
    torch.manual_seed(0)
    return pyiqa.create_metric(request.param, device="cpu", **_needs_random(request.param))


def test_listed_by_pyiqa():
    assert set(VARIANTS) <= set(pyiqa.list_models())
    assert set(VARIANTS) <= set(pyiqa.list_models(metric_mode="NR"))


def test_score_shape_range_finite(metric):
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    s = metric(x)
    assert s.shape == (2, 1)
    assert torch.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()
    assert metric.net.artifact_classes == ("ghosting", "flare", "moire")
    assert metric.lower_better is False and metric.score_range == "0, 1"


def test_return_maps_contract(metric):
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    o = metric(x, return_maps=True)
    assert isinstance(o, ipad_iqa.IPADOutput)
    assert o.score.shape == (2, 1) and o.class_probs.shape == (2, 3) and o.maps.shape == (2, 3, 224, 224)
    for t in o:
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1
    torch.testing.assert_close(o.score, metric(x))


@pytest.mark.parametrize("size", [(32, 32), (37, 101), (224, 300), (65, 64)])
def test_non_square_and_odd_sizes(metric, size):
    o = metric(torch.rand(1, 3, *size), return_maps=True)
    assert o.maps.shape == (1, 3, *size)
    assert o.score.shape == (1, 1)


def test_backward_as_loss():
    name = "ipad_clip_test"
    loss_metric = pyiqa.create_metric(name, as_loss=True, device="cpu")
    x = torch.rand(2, 3, 96, 96, requires_grad=True)
    loss = loss_metric(x)
    assert loss.dim() == 0
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_default_metric_backward_as_loss():
    loss_metric = pyiqa.create_metric("ipad_clip", as_loss=True, device="cpu")
    x = torch.rand(1, 3, 64, 80, requires_grad=True)
    loss_metric(x).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_path_input(metric, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "img.png"
    Image.fromarray(rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)).save(path)
    s = metric(str(path))
    assert s.shape == (1, 1) and 0 <= float(s) <= 1


def test_deterministic_run_to_run():
    x = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(3))
    a = pyiqa.create_metric("ipad_clip", device="cpu")(x, return_maps=True)
    b = pyiqa.create_metric("ipad_clip", device="cpu")(x, return_maps=True)
    for u, v in zip(a, b, strict=True):
        assert torch.equal(u, v)


def test_double_import_and_register_are_harmless():
    code = ("import importlib, ipad_iqa, pyiqa; ipad_iqa.register(); importlib.reload(ipad_iqa); "
            "m = pyiqa.create_metric('ipad_clip_test', device='cpu'); import torch; "
            "print(tuple(m(torch.rand(1, 3, 64, 64)).shape))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("(1, 1)")


def test_bad_input_is_named():
    m = pyiqa.create_metric("ipad_clip_test", device="cpu", check_input_range=False)
    with pytest.raises(ValueError, match="(?i)nan|finite"):
        m(torch.full((1, 3, 64, 64), float("nan")))


def test_maps_size_through_pyiqa():
    metric = pyiqa.create_metric("ipad_clip_test", device="cpu")
    out = metric(torch.rand(2, 3, 70, 90), return_maps=True, maps_size=(35, 45))
    assert out.maps.shape == (2, 3, 35, 45)
    with pytest.raises(ValueError, match="maps_size"):
        metric(torch.rand(1, 3, 70, 90), return_maps=True, maps_size=(0, 45))
    with pytest.raises(ValueError, match=r"maps_size must be \(height, width\).*got 100"):
        metric(torch.rand(1, 3, 70, 90), return_maps=True, maps_size=100)


def test_unknown_option_is_named():
    """pyiqa users reach for its usual keywords; the error names ours (and where pretrained weights go)."""
    with pytest.raises(TypeError, match="no option head_weight;.*options are head_weights"):
        pyiqa.create_metric("ipad_clip_test", device="cpu", head_weight="w.safetensors")
    with pytest.raises(TypeError, match="pretrained_model_path is head_weights"):
        pyiqa.create_metric("ipad_clip_test", device="cpu", pretrained_model_path="w.safetensors")
