"""The recipe's pixel losses, computed on the map grid, against a per-pixel reference (no model needed)."""

import pytest
import torch
import torch.nn.functional as F

from ipad_iqa.train.losses import on_map_grid, pixel_losses


def _batch(seed: int = 0):
    """Logits on a 6x5 grid and 24x20-px masks: one artifact class per view, an ignore band, one clean view."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 4, 6, 5, generator=g) * 2
    masks = torch.zeros(3, 3, 24, 20)
    for view, cls in ((0, 0), (1, 2)):
        masks[view, cls] = (torch.rand(24, 20, generator=g) > 0.6).float()
    valid = (torch.rand(3, 24, 20, generator=g) > 0.2).float()
    return logits, masks * valid[:, None], valid


def _per_pixel(logits, masks, valid, gamma=2.0):
    """The losses of the map held constant over each cell, pixel by pixel at the masks' resolution."""
    logp = F.interpolate(logits, size=masks.shape[-2:], mode="nearest").log_softmax(dim=1)
    target = torch.where(masks.amax(dim=1) > 0.5, masks.argmax(dim=1) + 1, 0)
    lp = logp.gather(1, target[:, None])[:, 0]
    focal = (-((1 - lp.exp()) ** gamma) * lp * valid).sum() / valid.sum()
    probs = logp.exp()[:, 1:] * valid[:, None]
    inter, total = (probs * masks).sum((0, 2, 3)), probs.sum((0, 2, 3)) + masks.sum((0, 2, 3))
    return focal, (1 - (2 * inter + 1) / (total + 1)).mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_losses_equal_the_per_pixel_losses(seed):
    logits, masks, valid = _batch(seed)
    for got, want in zip(pixel_losses(logits, masks, valid, 2.0), _per_pixel(logits, masks, valid), strict=True):
        torch.testing.assert_close(got, want)


def test_a_cell_in_the_ignore_band_does_not_count():
    logits, masks, valid = _batch()
    valid[0, :4, :4] = 0  # the top-left cell of view 0 is all ignore band
    masks = masks * valid[:, None]
    before = pixel_losses(logits, masks, valid, 2.0)
    logits[0, :, 0, 0] = torch.tensor([-9.0, 9.0, -9.0, 9.0])  # any prediction there
    for got, want in zip(pixel_losses(logits, masks, valid, 2.0), before, strict=True):
        torch.testing.assert_close(got, want)
    logits[0, :, 0, 1] = torch.tensor([-9.0, 9.0, -9.0, 9.0])  # but not in a cell with valid pixels
    assert not torch.allclose(pixel_losses(logits, masks, valid, 2.0)[0], before[0])


def test_masks_must_split_into_the_grid():
    with pytest.raises(ValueError, match="do not split into the"):
        on_map_grid(torch.ones(1, 1, 25, 20), (6, 5))
