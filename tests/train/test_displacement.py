"""The ghost-offset experiment: its label follows the view's flip and its loss counts visible ghost cells only."""

from __future__ import annotations

import math

import torch

from ipad_iqa.data.shards import _ghost_offset
from ipad_iqa.train.losses import displacement_loss


def test_offset_is_axial_and_follows_the_flip():
    meta = {"label_index": 1, "params": {"angle": 0.3, "shift_px": 10.0}}
    c, s, d = _ghost_offset(meta, flipped=False)
    assert (c, s) == (math.cos(0.6), math.sin(0.6)) and math.isclose(d, math.log(10) / math.log(50))
    # the copy at +d and the original at -d are the same picture: the label cannot tell them apart
    turned = _ghost_offset({"label_index": 1, "params": {"angle": 0.3 + math.pi, "shift_px": 10.0}}, False)
    assert all(math.isclose(a, b, abs_tol=1e-12) for a, b in zip(turned, (c, s, d), strict=True))
    assert _ghost_offset(meta, flipped=True) == (c, -s, d)
    assert _ghost_offset({"label_index": 3, "params": {"period_px": 4.0}}, False) == (0.0, 0.0, 0.0)


def test_loss_reads_only_cells_with_visible_ghost():
    pred = torch.zeros(2, 3, 4, 4)
    masks = torch.zeros(2, 3, 16, 16)
    masks[0, 0, :4, :4] = 1  # one cell of view 0 shows the ghost
    offset = torch.tensor([[0.5, 0.0, 0.0], [9.0, 9.0, 9.0]])  # view 1 has no visible ghost: its offset is unread
    loss = displacement_loss(pred, offset, masks, torch.ones(2, 16, 16))
    assert math.isclose(float(loss), 0.5 - 0.05, rel_tol=1e-6)
    pred[0, 0, 0, 0] = 0.5
    assert float(displacement_loss(pred, offset, masks, None)) == 0.0
