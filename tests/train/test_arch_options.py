"""The arch options the baselines and ablations are built from, and the manip noise-stream constraints."""

from __future__ import annotations

import pytest
import torch

from ipad_iqa import create_model
from ipad_iqa.baselines.convnet import ConvNetConfig
from ipad_iqa.baselines.manip import ManipNet
from ipad_iqa.model.config import IPADArchConfig
from ipad_iqa.model.heads import AnchorAdapter, LinearAdapter
from ipad_iqa.model.prompts import FixedPrompts, LearnedPrompts

APRILGAN = {"prompt_mode": "fixed", "adapter": "linear", "anchor_steering": False, "objects": "agnostic"}


def _views_seen(model, x: torch.Tensor) -> int:
    """Number of views (global + tiles) the model runs for ``x``."""
    seen = []
    original = model.forward_views

    def counting(views, *args, **kwargs):
        seen.append(views.shape[0])
        return original(views, *args, **kwargs)

    model.forward_views = counting
    out = model(x)
    assert out.maps.shape == (1, 3, *x.shape[-2:])
    return sum(seen)


def test_defaults_keep_the_ipad_model() -> None:
    cfg = IPADArchConfig()
    assert (cfg.prompt_mode, cfg.adapter, cfg.tiling) == ("learned", "bottleneck", True)
    model = create_model("ipad_clip_test")
    assert isinstance(model.prompts, LearnedPrompts) and all(isinstance(a, AnchorAdapter) for a in model.adapters)


def test_tiling_false_runs_one_view() -> None:
    x = torch.rand(1, 3, 150, 230, generator=torch.Generator().manual_seed(0))  # larger than the 64-px tile
    assert _views_seen(create_model("ipad_clip_test"), x) > 1
    assert _views_seen(create_model("ipad_clip_test", arch={"tiling": False}), x) == 1


def test_fixed_prompts_and_linear_adapters() -> None:
    model = create_model("ipad_clip_test", arch=APRILGAN).train()
    assert isinstance(model.prompts, FixedPrompts) and not list(model.prompts.parameters())
    assert all(isinstance(a, LinearAdapter) for a in model.adapters)
    t = model.text_anchors()
    assert t.shape[:2] == (4, 1) and torch.allclose(t.norm(dim=-1), torch.ones(4, 1))
    t.sum().backward()  # fixed words, but the trainable text tower still learns through them
    assert model.text.token_embedding.weight.grad is not None
    patches = torch.randn(2, 5, t.shape[-1])
    assert torch.equal(model.adapters[0](patches, t[:, 0][None]), patches)  # identity at initialisation


@pytest.mark.parametrize("bad", [{"adapter": "linear", "anchor_steering": True}, {"prompt_mode": "free"}, {"adapter": "mlp"}])
def test_invalid_arch_options(bad: dict) -> None:
    with pytest.raises(ValueError):
        IPADArchConfig(**bad)


def test_manip_constraints_hold_after_a_step() -> None:
    torch.manual_seed(0)
    net = ManipNet(ConvNetConfig(widths=(8, 16), depths=(1, 1), decoder_width=8)).train()
    srm = net.srm.kernels.clone()
    assert "srm.kernels" not in dict(net.named_parameters())
    opt = torch.optim.AdamW(net.parameters(), lr=0.5)
    out = net.forward_views(net.normalize(torch.rand(2, 3, 32, 32)), net.text_anchors())
    (out.layer_logits[0].square().mean() + out.cls_logits.square().mean()).backward()
    opt.step()
    assert net.constrained.raw.grad is not None and net.constrained.raw.grad.abs().sum() > 0
    k = net.constrained.kernel().detach()
    torch.testing.assert_close(k.sum(dim=(2, 3)), torch.zeros(k.shape[:2]), atol=1e-5, rtol=0)
    assert torch.equal(k[:, :, 2, 2], torch.full(k.shape[:2], -1.0))
    assert torch.equal(net.srm.kernels, srm)
    torch.testing.assert_close(srm.sum(dim=(2, 3)), torch.zeros(9, 1), atol=1e-6, rtol=0)
