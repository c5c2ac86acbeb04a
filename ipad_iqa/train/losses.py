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


def focal_loss(log_probs: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """Multi-class focal loss from log-probabilities (B,K,H,W) and indices (B,H,W)."""
    logp = log_probs.gather(1, target[:, None])[:, 0]
    return (-((1 - logp.exp()) ** gamma) * logp).mean()


def dice_loss(probs: torch.Tensor, masks: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft dice per artifact class over the batch; classes absent from the batch and the prediction cost ~0."""
    inter = (probs * masks).sum(dim=(0, 2, 3))
    total = probs.sum(dim=(0, 2, 3)) + masks.sum(dim=(0, 2, 3))
    return (1 - (2 * inter + eps) / (total + eps)).mean()


def ipad_loss(model: IPADCLIP, out: ViewOutput, t: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor,
              w: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts for a batch of views with pixel masks (B,3,H,W) and labels (B,)."""
    target = pixel_targets(masks)
    size = masks.shape[-2:]
    focal = dice = masks.new_zeros(())
    for logits in out.layer_logits:
        up = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        logp = up.log_softmax(dim=1)
        focal = focal + focal_loss(logp, target, w.focal_gamma)
        dice = dice + dice_loss(logp.exp()[:, 1:], masks)
    n = len(out.layer_logits)
    image_ce = F.cross_entropy(out.cls_logits, labels)
    class_probs, _ = model.fuse(out.cls_logits, out.probs)
    onehot = F.one_hot(labels, 4)[:, 1:].to(class_probs.dtype)
    fused = F.binary_cross_entropy(class_probs.clamp(1e-6, 1 - 1e-6), onehot)
    sep = model.separation_loss(t)
    parts = {"focal": focal / n, "dice": dice / n, "image_ce": image_ce, "fused_bce": fused, "separation": sep}
    total = sum(getattr(w, k) * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}
