"""IPAD-CLIP: artifact-aware text anchors steering CLIP patch features toward local artifacts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ipad_iqa.model.backbone import ClipBackbone
from ipad_iqa.model.config import IPADArchConfig
from ipad_iqa.model.heads import AnchorAdapter, anchor_logits, gaussian_smooth, topk_pool
from ipad_iqa.model.prompts import STATES, LearnedPrompts, TextTower, ZeroShotPrompts, image_anchors, object_vocabulary
from ipad_iqa.model.tiling import blend_window, global_view_size, pad_to, tile_starts
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput


@dataclass
class ViewOutput:
    """What one forward pass over a batch of views gives (all before upsampling)."""

    layer_logits: list[torch.Tensor]  # per tapped layer (B,K,gh,gw), K = len(STATES)
    probs: torch.Tensor  # (B,K,gh,gw): softmax over states, averaged over layers
    cls_logits: torch.Tensor  # (B,K) class-token prediction
    cls_emb: torch.Tensor  # (B,D)


class IPADCLIP(nn.Module):
    """The model behind every ``ipad_clip*`` variant. Input: RGB (B,3,H,W) in [0,1]; output: IPADOutput."""

    artifact_classes: tuple[str, ...] = ARTIFACT_CLASSES

    def __init__(self, clip: nn.Module, model_name: str, cfg: IPADArchConfig,
                 mean: tuple[float, float, float], std: tuple[float, float, float]):
        super().__init__()
        self.cfg = cfg
        self.backbone = ClipBackbone(clip, cfg.resolve_tap_layers(len(clip.visual.transformer.resblocks)))
        if cfg.tile_size % self.backbone.patch_size:
            raise ValueError(f"tile_size {cfg.tile_size} is not a multiple of patch {self.backbone.patch_size}")
        objects = object_vocabulary(cfg.objects)
        dim = self.backbone.embed_dim
        if cfg.zero_shot:
            self.prompts: nn.Module = ZeroShotPrompts(clip, model_name, objects)
            self.register_buffer("log_scale", clip.logit_scale.detach().clone(), persistent=False)
            adapters = [AnchorAdapter(dim, cfg.adapter_reduction, False, False, cfg.steer_temperature)
                        for _ in self.backbone.tap_layers]
        else:
            self.text = TextTower(clip)
            self.prompts = LearnedPrompts(self.text, objects, cfg.n_ctx, cfg.n_state_tokens)
            self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
            adapters = [AnchorAdapter(dim, cfg.adapter_reduction, cfg.use_adapters, cfg.anchor_steering,
                                      cfg.steer_temperature) for _ in self.backbone.tap_layers]
        self.adapters = nn.ModuleList(adapters)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self._anchor_cache: torch.Tensor | None = None
        self.set_backbone_trainable(not cfg.freeze_backbone and not cfg.zero_shot)

    # ------------------------------------------------------------------ parameters
    def set_backbone_trainable(self, trainable: bool) -> None:
        """Frozen by default (resource-efficient); unfrozen for from-scratch training."""
        for module in (self.backbone, getattr(self, "text", None)):
            if module is not None:
                for p in module.parameters():
                    p.requires_grad_(trainable)

    def train(self, mode: bool = True) -> IPADCLIP:
        self._anchor_cache = None  # anchors change while training; recompute once back in eval
        return super().train(mode)

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._anchor_cache = None
        super()._load_from_state_dict(*args, **kwargs)

    def text_anchors(self) -> torch.Tensor:
        """t[k, o] (K,O,D); cached in eval mode since it does not depend on the image."""
        text = getattr(self, "text", None)
        if self.training:
            return self.prompts(text)
        if self._anchor_cache is None:
            with torch.no_grad():
                self._anchor_cache = self.prompts(text)
        return self._anchor_cache

    def separation_loss(self, t: torch.Tensor) -> torch.Tensor:
        return self.prompts.separation_loss(t)

    # ------------------------------------------------------------------ views
    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def forward_views(self, views: torch.Tensor, t: torch.Tensor, anchors: torch.Tensor | None = None
                      ) -> ViewOutput:
        """Run normalised views (B,3,h,w), h,w multiples of the patch, against text anchors t (K,O,D).

        ``anchors`` (B,K,D) overrides the per-view anchors (tiles use those of their image's global view).
        """
        cls_emb, taps = self.backbone(views)
        if anchors is None:
            anchors = image_anchors(t, cls_emb, self.cfg.object_temperature)
        scale = self.log_scale.exp().clamp(max=100.0)
        gh, gw = views.shape[-2] // self.backbone.patch_size, views.shape[-1] // self.backbone.patch_size
        layer_logits = []
        for adapter, patches in zip(self.adapters, taps, strict=True):
            logits = anchor_logits(adapter(patches, anchors), anchors, scale)
            layer_logits.append(logits.transpose(1, 2).reshape(views.shape[0], len(STATES), gh, gw))
        probs = torch.stack([lg.softmax(dim=1) for lg in layer_logits]).mean(0)
        cls_logits = anchor_logits(cls_emb[:, None], anchors, scale)[:, 0]
        return ViewOutput(layer_logits, probs, cls_logits, cls_emb)

    def fuse(self, cls_logits: torch.Tensor, grid_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """class_probs (B,3) from the class token fused with top-k pooled maps; score = 1 - P(any artifact)."""
        cls_probs = cls_logits.softmax(dim=-1)[:, 1:]
        pooled = topk_pool(grid_probs[:, 1:], self.cfg.topk_ratio)
        class_probs = self.cfg.cls_weight * cls_probs + (1 - self.cfg.cls_weight) * pooled
        score = 1 - class_probs.max(dim=-1, keepdim=True).values
        return class_probs.clamp(0, 1), score.clamp(0, 1)

    # ------------------------------------------------------------------ images
    def forward(self, x: torch.Tensor) -> IPADOutput:
        """Score a validated batch; each image is processed on its own so results never depend on the batch."""
        outs = [self._forward_image(x[i: i + 1]) for i in range(x.shape[0])]
        return IPADOutput(*(torch.cat(parts) for parts in zip(*outs, strict=True)))

    def _forward_image(self, x: torch.Tensor) -> IPADOutput:
        h, w = x.shape[-2:]
        p, tile = self.backbone.patch_size, self.cfg.tile_size
        hp, wp = math.ceil(h / p) * p, math.ceil(w / p) * p
        t = self.text_anchors()
        if hp <= tile and wp <= tile:
            view = self.forward_views(self.normalize(pad_to(x, hp, wp)), t)
            grid, cls_logits = view.probs, view.cls_logits
        else:
            grid, cls_logits = self._tiled(x, max(hp, tile), max(wp, tile), t)
        grid = gaussian_smooth(grid, self.cfg.smooth_sigma)
        class_probs, score = self.fuse(cls_logits, grid)
        maps = F.interpolate(grid[:, 1:], size=(grid.shape[-2] * p, grid.shape[-1] * p), mode="bilinear",
                             align_corners=False)[..., :h, :w]
        return IPADOutput(score, class_probs, maps.clamp(0, 1))

    def _tiled(self, x: torch.Tensor, hp: int, wp: int, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Global view for context and object weights, plus native-scale tiles stitched on the patch grid."""
        p, tile = self.backbone.patch_size, self.cfg.tile_size
        gh, gw = global_view_size(*x.shape[-2:], tile, p)
        small = F.interpolate(x, size=(gh, gw), mode="bilinear", antialias=True, align_corners=False)
        glob = self.forward_views(self.normalize(small), t)
        anchors = image_anchors(t, glob.cls_emb, self.cfg.object_temperature)

        cells = tile // p
        stride = tile - self.cfg.tile_overlap
        stride -= stride % p
        ys, xs = tile_starts(hp, tile, stride), tile_starts(wp, tile, stride)
        positions = [(y, xx) for y in ys for xx in xs]
        weight = blend_window(cells, self.cfg.tile_overlap // p, x.dtype, x.device)
        acc = x.new_zeros(1, len(STATES), hp // p, wp // p)
        wsum = x.new_zeros(1, 1, hp // p, wp // p)
        for start in range(0, len(positions), self.cfg.tile_batch):
            chunk = positions[start: start + self.cfg.tile_batch]
            tiles = torch.cat([pad_to(x[..., y: y + tile, xx: xx + tile], tile, tile) for y, xx in chunk])
            probs = self.forward_views(self.normalize(tiles), t, anchors.expand(len(chunk), -1, -1)).probs
            for (y, xx), pr in zip(chunk, probs, strict=True):
                cy, cx = y // p, xx // p
                acc[..., cy: cy + cells, cx: cx + cells] += pr * weight
                wsum[..., cy: cy + cells, cx: cx + cells] += weight
        tiled = acc / wsum
        glob_up = F.interpolate(glob.probs, size=tiled.shape[-2:], mode="bilinear", align_corners=False)
        beta = self.cfg.global_weight
        return (1 - beta) * tiled + beta * glob_up, glob.cls_logits
