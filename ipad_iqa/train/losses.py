"""Losses of the recipe: per-pixel focal + dice on every tapped layer, image CE, fused BCE, separation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ipad_iqa.model.ipad_clip import IPADCLIP, ViewOutput
from ipad_iqa.train.config import LossWeights


def pixel_targets(masks: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) binary masks -> (B,H,W) state index (0 clean, k+1 for class k)."""
    has = masks.amax(dim=1) > 0.5
    return torch.where(has, masks.argmax(dim=1) + 1, torch.zeros_like(has, dtype=torch.long))


def focal_loss(log_probs: torch.Tensor, target: torch.Tensor, gamma: float, valid: torch.Tensor | None = None
               ) -> torch.Tensor:
    """Multi-class focal loss from log-probabilities (B,K,H,W) and indices (B,H,W), averaged over the pixels
    where ``valid`` (B,H,W) is 1 (all of them if None): the ignore band neither rewards nor punishes."""
    logp = log_probs.gather(1, target[:, None])[:, 0]
    loss = -((1 - logp.exp()) ** gamma) * logp
    if valid is None:
        return loss.mean()
    return (loss * valid).sum() / valid.sum().clamp(min=1.0)


def dice_loss(probs: torch.Tensor, masks: torch.Tensor, eps: float = 1.0, valid: torch.Tensor | None = None
              ) -> torch.Tensor:
    """Soft dice per artifact class over the batch, on the ``valid`` pixels; classes absent from the batch and
    the prediction cost ~0."""
    if valid is not None:
        probs = probs * valid[:, None]
    inter = (probs * masks).sum(dim=(0, 2, 3))
    total = probs.sum(dim=(0, 2, 3)) + masks.sum(dim=(0, 2, 3))
    return (1 - (2 * inter + eps) / (total + eps)).mean()


def ipad_loss(model: IPADCLIP, out: ViewOutput, t: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor,
              w: LossWeights, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts for a batch of views with pixel masks (B,3,H,W) and labels (B,).

    ``valid`` (B,H,W): 0 on the ignore band, left out of the pixel losses. A label of -1 (a view holding only
    uncertain artifact pixels) is left out of the image-level losses.
    """
    target = pixel_targets(masks)
    size = masks.shape[-2:]
    focal = dice = masks.new_zeros(())
    for logits in out.layer_logits:
        up = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        logp = up.log_softmax(dim=1)
        focal = focal + focal_loss(logp, target, w.focal_gamma, valid)
        dice = dice + dice_loss(logp.exp()[:, 1:], masks, valid=valid)
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
