"""Drop-in layers that compute what their torch parents compute, in the layout and precision fastest on a CPU.

Training runs on 2 CPU cores under bfloat16 autocast, where two of oneDNN's kernels are slow
(``benchmarks/train_profile.py`` ranks them at the top): group normalisation of channels-last activations,
forward and backward about 3.5x slower than of the same tensor in NCHW memory; and flash attention, whose
bfloat16 kernel runs slower than its float32 one (39 against 26 ms per ViT-S block, forward and backward, for a
batch of 32 crops). Parameters and state-dict keys are the parents', so weights load unchanged; off the CPU and
outside autocast (inference, float32 training) each layer is exactly its parent.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` that, under CPU autocast, normalises channels-last tensors in NCHW memory and hands them
    back channels-last (the convolutions around it want that layout). In float32 the layout's kernel is the
    faster one once the two conversions are paid (inference at 512 x 512: 184 against 202 ms), so it stays."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or x.is_contiguous() or not torch.is_autocast_enabled("cpu"):
            return super().forward(x)
        return super().forward(x.contiguous()).contiguous(memory_format=torch.channels_last)


class SelfAttention(nn.MultiheadAttention):
    """open_clip's block attention whose scaled-dot-product step runs in float32 under CPU autocast.

    The projections keep autocast's bfloat16 (its matrix products are the fast ones); only the attention
    kernel between them is lifted to float32, which is also the more precise.
    """

    @classmethod
    def like(cls, attn: nn.MultiheadAttention) -> SelfAttention:
        """A copy of ``attn`` (same shape, weights, device and dtype) of this class."""
        new = cls(attn.embed_dim, attn.num_heads, dropout=attn.dropout, bias=attn.in_proj_bias is not None,
                  batch_first=attn.batch_first, kdim=attn.kdim, vdim=attn.vdim)
        new.load_state_dict(attn.state_dict())
        return new.to(attn.out_proj.weight)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask: torch.Tensor | None = None, **kwargs):
        fast = (query.device.type == "cpu" and torch.is_autocast_enabled("cpu") and key is query and value is query
                and self.batch_first and self._qkv_same_embed_dim and key_padding_mask is None
                and attn_mask is None and not need_weights and not kwargs and (self.dropout == 0 or not self.training))
        if not fast:
            return super().forward(query, key, value, key_padding_mask=key_padding_mask, need_weights=need_weights,
                                   attn_mask=attn_mask, **kwargs)
        b, n, c = query.shape
        qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.view(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4).float()
        with torch.autocast("cpu", enabled=False):
            out = F.scaled_dot_product_attention(q, k, v)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, c)), None
