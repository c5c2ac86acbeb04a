"""The CPU-fast layers compute what their torch parents compute, in every path the model takes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ipad_iqa.model.cpu_layers import GroupNorm, SelfAttention


def _pair_group_norm(channels: int = 16) -> tuple[nn.GroupNorm, GroupNorm]:
    torch.manual_seed(0)
    ref = nn.GroupNorm(4, channels)
    nn.init.normal_(ref.weight)
    nn.init.normal_(ref.bias)
    ours = GroupNorm(4, channels)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


@pytest.mark.parametrize("channels_last", [True, False])
def test_group_norm_under_cpu_autocast_matches_parent_and_keeps_layout(channels_last: bool,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Under bfloat16 autocast a channels-last input is normalised in NCHW memory (the fast kernel) and comes
    back channels-last, forward and backward equal to the parent's."""
    layouts = []
    group_norm = torch.nn.functional.group_norm

    def spy(x, *args, **kwargs):
        layouts.append(x.is_contiguous())
        return group_norm(x, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "group_norm", spy)
    ref, ours = _pair_group_norm()
    x = torch.randn(2, 16, 9, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ya = ref(xa)
        layouts.clear()
        yb = ours(xb)
    assert layouts == [True]
    torch.testing.assert_close(yb, ya)
    assert yb.is_contiguous(memory_format=torch.channels_last) == channels_last
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xb.grad, xa.grad)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)


def test_group_norm_outside_autocast_is_the_parent() -> None:
    """Inference (float32) keeps the parent's kernel and layout: the conversions cost more than they save there."""
    ref, ours = _pair_group_norm()
    x = torch.randn(2, 16, 9, 7).contiguous(memory_format=torch.channels_last)
    y = ours(x)
    assert torch.equal(y, ref(x)) and y.is_contiguous(memory_format=torch.channels_last)


def _pair_attention(batch_first: bool = True) -> tuple[nn.MultiheadAttention, SelfAttention]:
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(32, 4, batch_first=batch_first)
    return ref, SelfAttention.like(ref)


def test_attention_like_copies_weights_and_keys() -> None:
    ref, ours = _pair_attention()
    assert ours.state_dict().keys() == ref.state_dict().keys()
    for key, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)


def test_attention_outside_autocast_is_the_parent() -> None:
    ref, ours = _pair_attention()
    x = torch.randn(3, 11, 32)
    assert torch.equal(ours(x, x, x, need_weights=False)[0], ref(x, x, x, need_weights=False)[0])


def test_attention_under_cpu_autocast_matches_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under bfloat16 autocast the result stays within bfloat16 rounding of the float32 parent, forward and
    backward; the attention kernel itself runs in float32."""
    seen = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def spy(q, k, v, *args, **kwargs):
        seen.append(q.dtype)
        return sdpa(q, k, v, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    ref, ours = _pair_attention()
    x = torch.randn(3, 11, 32)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    exact = ref(xa, xa, xa, need_weights=False)[0]
    seen.clear()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast, weights = ours(xb, xb, xb, need_weights=False)
    assert weights is None and fast.dtype == torch.bfloat16 and seen == [torch.float32]
    torch.testing.assert_close(fast.float(), exact, atol=0.05, rtol=0.05)
    g = torch.randn_like(exact)
    exact.backward(g)
    fast.float().backward(g)
    torch.testing.assert_close(xb.grad, xa.grad, atol=0.05, rtol=0.05)


def test_attention_falls_back_where_the_fast_path_does_not_apply() -> None:
    """A mask, sequence-first layout, cross-attention and asked-for weights all take the parent's path under
    autocast."""
    ref, ours = _pair_attention()
    x = torch.randn(3, 11, 32)
    mask = torch.triu(torch.full((11, 11), float("-inf")), 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(ours(x, x, x, need_weights=False, attn_mask=mask)[0],
                           ref(x, x, x, need_weights=False, attn_mask=mask)[0])
    ref, ours = _pair_attention(batch_first=False)
    x, y = torch.randn(11, 3, 32), torch.randn(5, 3, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(ours(x, x, x, need_weights=False)[0], ref(x, x, x, need_weights=False)[0])
        assert torch.equal(ours(x, y, y, need_weights=False)[0], ref(x, y, y, need_weights=False)[0])
        assert ours(x, x, x)[1] is not None
