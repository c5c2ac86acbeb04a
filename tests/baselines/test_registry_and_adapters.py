"""Registry, pyiqa global metrics as image-level detectors, and the IPAD-CLIP pyiqa adapter."""

from __future__ import annotations

import pytest
import torch

from ipad_iqa.baselines import METHODS, Method, build_detector, pyiqa_global
from ipad_iqa.baselines.base import DetectorConfig
from ipad_iqa.output import IPADOutput


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="spectral"):
        build_detector("nope")


def test_registry_accepts_new_factories(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def factory(config: DetectorConfig):
        seen["checkpoint"] = config.checkpoint
        return build_detector("spectral")

    monkeypatch.setitem(METHODS, "trained_thing", Method(factory, "a method of the test"))
    build_detector("trained_thing", DetectorConfig(checkpoint="/x.safetensors"))
    assert seen["checkpoint"] == "/x.safetensors"


def test_score_mapping_direction() -> None:
    s = torch.tensor([10.0, 20.0, 30.0, 90.0])
    up = pyiqa_global.artifact_probability(s, (0, 40), lower_better=True)
    down = pyiqa_global.artifact_probability(s, (0, 40), lower_better=False)
    assert torch.all(up.diff() > 0) and torch.all(down.diff() < 0)  # strictly monotone, even out of range
    assert pyiqa_global.parse_score_range("~0, ~40") == (0.0, 40.0)
    assert pyiqa_global.parse_score_range("0, 100") == (0.0, 100.0)


def test_global_metrics_are_image_level() -> None:
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    piqe = build_detector("piqe")
    assert not piqe.has_maps and not piqe.needs_reference and piqe.lower_better
    out = piqe.predict(x)
    assert out.maps.shape == (2, 3, 64, 64)
    assert torch.allclose(out.maps, out.class_probs[:, :, None, None].expand_as(out.maps))
    psnr = build_detector("psnr")
    assert psnr.needs_reference
    with pytest.raises(ValueError):
        psnr.predict(x)
    noisy = (x + 0.2 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    p_same = psnr.predict(x, x).class_probs
    p_noisy = psnr.predict(noisy, x).class_probs
    assert torch.all(p_noisy > p_same)  # a distorted image is more "artifacted" than its own reference


class FakeIPAD(torch.nn.Module):
    """Stands in for the pyiqa IPAD-CLIP metric: maps at half resolution, as a tiled model might give."""

    def forward(self, x: torch.Tensor, return_maps: bool = False):
        b, _, h, w = x.shape
        maps = x[:, :, ::2, ::2].clamp(0, 1)
        probs = maps.flatten(2).amax(-1)
        score = 1 - probs.amax(1, keepdim=True)
        return IPADOutput(score, probs, maps) if return_maps else score


def test_ipad_adapter_through_pyiqa(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyiqa

    calls = {}

    def fake_create_metric(name, device=None, **kwargs):
        calls.update(name=name, **kwargs)
        return FakeIPAD()

    monkeypatch.setattr(pyiqa, "create_metric", fake_create_metric)
    det = build_detector("ipad_clip_vitb16", DetectorConfig(checkpoint="/w.safetensors"))
    assert calls == {"name": "ipad_clip_vitb16", "head_weights": "/w.safetensors"}
    out = det.predict(torch.rand(2, 3, 32, 48))
    assert out.maps.shape == (2, 3, 32, 48) and out.score.shape == (2, 1) and det.has_maps
    calls.clear()
    build_detector("ipad_clip_vitb16[zero_shot=true,clip_weights=/c.bin]")  # weights options as in score --metric
    assert calls == {"name": "ipad_clip_vitb16", "clip_weights": "/c.bin", "arch": {"zero_shot": True}}
    with pytest.raises(ValueError, match="head weights given twice"):
        build_detector("ipad_clip_vitb16[head_weights=/h.safetensors]", DetectorConfig(checkpoint="/w.safetensors"))

    monkeypatch.setattr(pyiqa, "create_metric", lambda name, device=None, **kw: torch.nn.Identity())
    with pytest.raises(TypeError):
        build_detector("ipad_clip").predict(torch.rand(1, 3, 8, 8))
