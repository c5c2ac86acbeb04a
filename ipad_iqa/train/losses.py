"""Losses of the recipe: focal + dice on every map (at the map's stride), image CE, fused BCE, separation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ipad_iqa.model.ipad_clip import IPADCLIP, ViewOutput
from ipad_iqa.train.config import LossWeights


def on_map_grid(x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Pixel counts (B,C,H,W) summed over the cells of an (h, w) map grid: how many pixels of each cell a mask
    or the valid band covers. The losses compare the maps at their own stride with these counts instead of
    upsampling the maps to the crop: the same loss for a map held constant over each cell, at a sixteenth of the
    elementwise work (a quarter of a training step at stride 4 on 2 cores)."""
    h, w = grid
    if x.shape[-2] % h or x.shape[-1] % w:
        raise ValueError(f"masks of {tuple(x.shape[-2:])} px do not split into the {grid} map grid")
    fy, fx = x.shape[-2] // h, x.shape[-1] // w
    return F.avg_pool2d(x, (fy, fx)) * (fy * fx)


def focal_loss(log_probs: torch.Tensor, counts: torch.Tensor, gamma: float) -> torch.Tensor:
    """Multi-class focal loss of log-probabilities (B,K,h,w) against per-cell pixel counts (B,K,h,w) of each
    state (valid pixels only), averaged over the valid pixels: the ignore band neither rewards nor punishes."""
    loss = -(counts * (1 - log_probs.exp()) ** gamma * log_probs).sum()
    return loss / counts.sum().clamp(min=1.0)


def dice_loss(probs: torch.Tensor, masks: torch.Tensor, valid: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft dice per artifact class over the batch, from per-cell probabilities (B,3,h,w) and the cells' pixel
    counts of each class's mask (B,3,h,w) and of valid pixels (B,1,h,w); classes absent from the batch and the
    prediction cost ~0."""
    inter = (probs * masks).sum(dim=(0, 2, 3))
    total = (probs * valid).sum(dim=(0, 2, 3)) + masks.sum(dim=(0, 2, 3))
    return (1 - (2 * inter + eps) / (total + eps)).mean()


def pixel_losses(logits: torch.Tensor, masks: torch.Tensor, valid: torch.Tensor, gamma: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Focal and dice losses of map logits (B,4,h,w) against masks (B,3,H,W) of visible artifact and ``valid``
    (B,H,W), 0 on the ignore band, both at the crop's resolution (H, W multiples of h, w)."""
    masks = masks * valid[:, None]
    clean = (valid - masks.sum(dim=1)).clamp(min=0)[:, None]  # valid pixels of no artifact
    counts = on_map_grid(torch.cat([clean, masks, valid[:, None]], dim=1), logits.shape[-2:])
    logp = logits.log_softmax(dim=1)
    return (focal_loss(logp, counts[:, :4], gamma),
            dice_loss(logp.exp()[:, 1:], counts[:, 1:4], counts[:, 4:]))


def displacement_loss(pred: torch.Tensor, offset: torch.Tensor, masks: torch.Tensor,
                      valid: torch.Tensor | None) -> torch.Tensor:
    """Smooth-L1 of per-cell offset predictions (B,3,h,w) against each view's ghost offset (B,3), weighted by the
    cell's visible ghosting pixels (masks (B,3,H,W), channel 0): only where the copy is seen is it asked for."""
    ghost = masks[:, :1] if valid is None else masks[:, :1] * valid[:, None]
    weight = on_map_grid(ghost, pred.shape[-2:])
    err = F.smooth_l1_loss(pred, offset[:, :, None, None].expand_as(pred), reduction="none", beta=0.1).sum(1,
                                                                                                        keepdim=True)
    return (err * weight).sum() / weight.sum().clamp(min=1.0)


def ipad_loss(model: IPADCLIP, out: ViewOutput, t: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor,
              w: LossWeights, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts for a batch of views with pixel masks (B,3,H,W) and labels (B,).

    ``valid`` (B,H,W): 0 on the ignore band, left out of the pixel losses. A label of -1 (a view holding only
    uncertain artifact pixels) is left out of the image-level losses.
    """
    valid = masks.new_ones(masks.shape[0], *masks.shape[-2:]) if valid is None else valid
    focal = dice = masks.new_zeros(())
    for logits in out.layer_logits:
        layer_focal, layer_dice = pixel_losses(logits, masks, valid, w.focal_gamma)
        focal, dice = focal + layer_focal, dice + layer_dice
    n = len(out.layer_logits)
    named = labels >= 0
    image_ce = F.cross_entropy(out.cls_logits, labels, ignore_index=-1) if named.any() else masks.new_zeros(())
    class_probs, _ = model.fuse(out.cls_logits, out.probs)
    onehot = F.one_hot(labels.clamp(min=0), 4)[:, 1:].to(class_probs.dtype)
    fused = (F.binary_cross_entropy(class_probs[named].clamp(1e-6, 1 - 1e-6), onehot[named]) if named.any()
             else masks.new_zeros(()))
    sep = model.separation_loss(t)
    parts = {"focal": focal / n, "dice": dice / n, "image_ce": image_ce, "fused_bce": fused, "separation": sep}
    total = sum(getattr(w, k) * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}
