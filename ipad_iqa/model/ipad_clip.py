"""IPAD-CLIP: CLIP image features, dense at stride 4 in v2, scored per pixel against artifact-aware text anchors."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ipad_iqa.model.backbone import ClipBackbone
from ipad_iqa.model.config import IPADArchConfig
from ipad_iqa.model.cues import SpectrumCue
from ipad_iqa.model.heads import (
    AnchorAdapter,
    LinearAdapter,
    anchor_logits,
    class_token_probs,
    fuse_probs,
    gaussian_smooth,
)
from ipad_iqa.model.prompts import (
    FixedPrompts,
    LearnedPrompts,
    TextTower,
    ZeroShotPrompts,
    image_anchors,
    object_vocabulary,
)
from ipad_iqa.model.pyramid import DetailCNN, PyramidDecoder
from ipad_iqa.model.tiling import blend_window, global_view_size, interpolation_matrix, pad_to, tile_starts
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS, IPADOutput
from ipad_iqa.thresholds import Thresholds


@dataclass
class ViewOutput:
    """What one forward pass over a batch of views gives (all before upsampling)."""

    layer_logits: list[torch.Tensor]  # per tapped layer (B,K,gh,gw), K = len(LABELS)
    probs: torch.Tensor  # (B,K,gh,gw): softmax over states, averaged over layers
    cls_logits: torch.Tensor  # (B,K) class-token prediction
    cls_emb: torch.Tensor  # (B,D)


class IPADCLIP(nn.Module):
    """The model behind every ``ipad_clip*`` variant. Input: RGB (B,3,H,W) in [0,1]; output: IPADOutput."""

    artifact_classes: tuple[str, ...] = ARTIFACT_CLASSES
    #: Parameters that make up the trained head: the only ones saved for frozen-backbone variants.
    head_prefixes: tuple[str, ...] = ("prompts.", "adapters.", "log_scale", "decoder.", "detail.", "dense_adapter.")
    #: Parameters of the CLIP image and text towers (what ``init_towers`` takes from another checkpoint).
    tower_prefixes: tuple[str, ...] = ("backbone.", "text.")

    def __init__(self, clip: nn.Module, model_name: str, cfg: IPADArchConfig,
                 mean: tuple[float, float, float], std: tuple[float, float, float],
                 text_vocabulary: Sequence[int] | None = None):
        """``text_vocabulary``: token ids the text tower keeps (``TextTower``); None keeps a pretrained tower's
        whole table."""
        super().__init__()
        self.cfg = cfg
        #: operating thresholds of the loaded weights (``ipad_iqa.thresholds``); None until weights carry them
        self.thresholds: Thresholds | None = None
        if cfg.moire_cue and not (cfg.conv_stem and cfg.pyramid and not cfg.zero_shot):
            raise ValueError("moire_cue enters through the conv stem of a trained dense model: it needs "
                             "conv_stem, pyramid and no zero_shot")
        if cfg.fine_stem and not cfg.conv_stem:
            raise ValueError("fine_stem is a branch of the conv stem: it needs conv_stem")
        self.cue = SpectrumCue() if cfg.moire_cue else None
        self.backbone = ClipBackbone(clip, cfg.resolve_tap_layers(len(clip.visual.transformer.resblocks)),
                                     conv_stem=cfg.conv_stem,
                                     cue_channels=SpectrumCue.channels if cfg.moire_cue else 0,
                                     fine_stem=cfg.fine_stem)
        objects = object_vocabulary(cfg.objects)
        dim = self.backbone.embed_dim
        if cfg.zero_shot:
            self.prompts: nn.Module = ZeroShotPrompts(clip, model_name, objects)
            self.register_buffer("log_scale", clip.logit_scale.detach().clone(), persistent=False)
            adapters = [AnchorAdapter(dim, cfg.adapter_reduction, False, False, cfg.steer_temperature)
                        for _ in self.backbone.tap_layers]
        else:
            self.text = TextTower(clip, text_vocabulary)
            if cfg.prompt_mode == "fixed":
                self.prompts = FixedPrompts(self.text, objects)
            else:
                self.prompts = LearnedPrompts(self.text, objects, cfg.n_ctx, cfg.n_state_tokens)
            self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
            if cfg.adapter == "linear":
                adapters = [LinearAdapter(dim) for _ in self.backbone.tap_layers]
            else:
                adapters = [AnchorAdapter(dim, cfg.adapter_reduction, cfg.use_adapters, cfg.anchor_steering,
                                          cfg.steer_temperature) for _ in self.backbone.tap_layers]
        self.adapters = nn.ModuleList(adapters)
        # v2: stride-4 maps; zero-shot has no trained decoder and keeps the patch grid
        self.dense = cfg.pyramid and not cfg.zero_shot
        self.map_stride = 4 if self.dense else self.backbone.patch_size
        # inputs are padded, and tiles start, on multiples of both the patch and the map stride (ViT-L/14's
        # 14-px patches and 4-px map cells: 28), so tile cells land exactly on the image-wide map grid
        self.grid_step = math.lcm(self.backbone.patch_size, self.map_stride)
        if cfg.tile_size % self.grid_step:
            raise ValueError(f"tile_size {cfg.tile_size} is not a multiple of {self.grid_step} (the patch "
                             f"{self.backbone.patch_size} and the map stride {self.map_stride})")
        if self.dense:
            detail = self.backbone.detail_channels
            if detail is None:  # a one-layer patch embedding: the head brings its own detail convolutions
                self.detail = DetailCNN()
                detail = self.detail.channels
            self.decoder = PyramidDecoder(dim, len(self.backbone.tap_layers), detail, cfg.decoder_width)
            self.dense_adapter = AnchorAdapter(dim, cfg.adapter_reduction, False, cfg.anchor_steering,
                                               cfg.steer_temperature)
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
        if self.dense:
            cls_emb, taps, detail = self.backbone.forward_dense(views, self.cue(views) if self.cue else None)
        else:
            cls_emb, taps, detail = (*self.backbone(views), None)
        if anchors is None:
            anchors = image_anchors(t, cls_emb, self.cfg.object_temperature)
        scale = self.log_scale.exp().clamp(max=100.0)
        b = views.shape[0]
        gh, gw = views.shape[-2] // self.backbone.patch_size, views.shape[-1] // self.backbone.patch_size
        adapted = [adapter(patches, anchors) for adapter, patches in zip(self.adapters, taps, strict=True)]
        if self.dense:
            s4, s8 = detail if detail is not None else self.detail(views)
            feats, (h4, w4) = self.decoder(adapted, torch.stack(adapted).mean(0), (gh, gw), s4, s8)
            logits = self.dense_adapter.logits(feats, anchors, scale).transpose(1, 2).reshape(b, len(LABELS), h4, w4)
            return ViewOutput([logits], logits.softmax(dim=1), anchor_logits(cls_emb[:, None], anchors, scale)[:, 0],
                              cls_emb)
        layer_logits = [anchor_logits(a, anchors, scale).transpose(1, 2).reshape(b, len(LABELS), gh, gw)
                        for a in adapted]
        probs = torch.stack([lg.softmax(dim=1) for lg in layer_logits]).mean(0)
        cls_logits = anchor_logits(cls_emb[:, None], anchors, scale)[:, 0]
        return ViewOutput(layer_logits, probs, cls_logits, cls_emb)

    def fuse(self, cls_logits: torch.Tensor, grid_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """class_probs (B,3) from the class token fused with top-k pooled maps; score = 1 - P(any artifact)."""
        return fuse_probs(class_token_probs(cls_logits), grid_probs, self.cfg.cls_weight, self.cfg.topk_ratio)

    # ------------------------------------------------------------------ images
    def forward(self, x: torch.Tensor, full_maps: bool = True, maps_size: tuple[int, int] | None = None
                ) -> IPADOutput:
        """Score a validated batch; each image is processed on its own so results never depend on the batch.

        The batch is moved to the model's device and dtype. ``full_maps=False`` skips the maps at input
        resolution (960 MB for a 10000x8000 image): ``maps`` then holds the (B,3,gh,gw) map grid they would be
        upsampled from (stride 4 for v2, the patch grid for v1 and zero-shot), cropped to the cells over the
        image: resized to (H, W) it lies on the image as the full maps do. ``maps_size=(h, w)`` renders the maps at that size instead of the input's
        (e.g. a display size), the same picture as resizing the full maps without ever making them. Score and
        class_probs are the same in every case.
        """
        x = x.to(device=self.mean.device, dtype=self.mean.dtype)
        outs = [self._forward_image(x[i: i + 1], full_maps, maps_size) for i in range(x.shape[0])]
        if len(outs) == 1:  # no concatenation, hence no second copy of full-resolution maps
            return outs[0]
        return IPADOutput(*(torch.cat(parts) for parts in zip(*outs, strict=True)))

    def _forward_image(self, x: torch.Tensor, full_maps: bool = True, maps_size: tuple[int, int] | None = None
                       ) -> IPADOutput:
        maps_size = maps_size or tuple(x.shape[-2:])
        h, w = x.shape[-2:]
        plan, *extent = self.view_plan(h, w)
        t = self.text_anchors()
        if plan == "tiled":
            grid, cls_probs = self._tiled(x, *extent, t)
        else:
            (one,) = self.views(x)
            view = self.forward_views(one, t)
            grid, cls_probs = view.probs, class_token_probs(view.cls_logits)
        grid = gaussian_smooth(grid, self.cfg.smooth_sigma)
        class_probs, score = fuse_probs(cls_probs, grid, self.cfg.cls_weight, self.cfg.topk_ratio)
        if not full_maps:  # the cells over the image, not its padding: (ceil(h / stride), ceil(w / stride))
            rows, cols = (math.ceil(n * size / ext) for n, size, ext in zip(grid.shape[-2:], (h, w), extent,
                                                                            strict=True))
            return IPADOutput(score, class_probs, grid[:, 1:, :rows, :cols].clamp(0, 1))
        out_h, out_w = maps_size
        # The grid covers `extent` (the input padded to whole patches): scale it with the output, then crop.
        size = (max(out_h, round(extent[0] * out_h / h)), max(out_w, round(extent[1] * out_w / w)))
        # Clamped in place and cropped as a view: the only full-size tensor made is the result.
        maps = F.interpolate(grid[:, 1:], size=size, mode="bilinear", align_corners=False).clamp_(0, 1)
        return IPADOutput(score, class_probs, maps[..., :out_h, :out_w])

    def view_plan(self, h: int, w: int) -> tuple[str, int, int]:
        """How an (h, w) image is read, and the extent its map grid covers: "global" (tiling off: the image
        resized to one view), "single" (one view, padded to whole grid steps) or "tiled" (the global view for
        context plus native-scale tiles over the padded image)."""
        p, tile = self.grid_step, self.cfg.tile_size
        hp, wp = math.ceil(h / p) * p, math.ceil(w / p) * p
        if not self.cfg.tiling:
            return "global", h, w
        if hp <= tile and wp <= tile:
            return "single", hp, wp
        return "tiled", max(hp, tile), max(wp, tile)

    def views(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The normalised views the backbone runs on for image x (tiles in chunks of ``tile_batch``): what an
        image costs, and what the benchmarks time."""
        plan, hp, wp = self.view_plan(*x.shape[-2:])
        if plan == "global":
            return [self.global_view(x)]
        if plan == "single":
            return [self.normalize(pad_to(x, hp, wp))]
        return [self.global_view(x), *(tiles for _, tiles in self.tile_batches(x, hp, wp))]

    def global_view(self, x: torch.Tensor) -> torch.Tensor:
        """The whole image resized (aspect kept) to long side tile_size, normalised."""
        size = global_view_size(*x.shape[-2:], self.cfg.tile_size, self.backbone.patch_size)
        return self.normalize(F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False))

    def tile_grid(self, hp: int, wp: int) -> tuple[list[int], list[int]]:
        """Top and left offsets of the tile rows and columns over a padded extent ``hp`` x ``wp``."""
        p, tile, overlap = self.grid_step, self.cfg.tile_size, self.cfg.tile_overlap
        return tile_starts(hp, tile, overlap, p), tile_starts(wp, tile, overlap, p)

    def tile_batches(self, x: torch.Tensor, hp: int, wp: int
                     ) -> Iterator[tuple[list[tuple[int, int]], torch.Tensor]]:
        """Native-scale tiles of ``x`` (padded extent ``hp`` x ``wp``), normalised, ``tile_batch`` at a time,
        with their top-left corners: what the tiled forward runs the backbone on."""
        tile = self.cfg.tile_size
        ys, xs = self.tile_grid(hp, wp)
        positions = [(y, xx) for y in ys for xx in xs]
        for start in range(0, len(positions), self.cfg.tile_batch):
            chunk = positions[start: start + self.cfg.tile_batch]
            tiles = torch.cat([pad_to(x[..., y: y + tile, xx: xx + tile], tile, tile) for y, xx in chunk])
            yield chunk, self.normalize(tiles)

    def _tiled(self, x: torch.Tensor, hp: int, wp: int, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Global view for context (its map, and with an object vocabulary the tiles' object weights), plus
        native-scale tiles stitched on the map grid.

        Returns the stitched grid and the class-token artifact probabilities (1,3) of the tiles: per class, those
        of the most confident tile, since the class token is trained on tile-size crops labelled by the artifact
        they hold.
        """
        m, tile = self.map_stride, self.cfg.tile_size  # tiles start on the grid step, so at whole map cells
        glob = self.forward_views(self.global_view(x), t)
        anchors = image_anchors(t, glob.cls_emb, self.cfg.object_temperature)

        cells = tile // m
        weight = blend_window(cells, x.dtype, x.device)
        acc = x.new_zeros(1, len(LABELS), hp // m, wp // m)
        wsum = x.new_zeros(1, 1, hp // m, wp // m)
        tile_cls = x.new_zeros(1, len(LABELS) - 1)
        ys, xs = self.tile_grid(hp, wp)
        row, col = {y: i for i, y in enumerate(ys)}, {xx: j for j, xx in enumerate(xs)}
        means = x.new_zeros(len(LABELS), len(ys), len(xs))
        for chunk, tiles in self.tile_batches(x, hp, wp):
            view = self.forward_views(tiles, t, anchors.expand(len(chunk), -1, -1))
            tile_cls = torch.maximum(tile_cls, class_token_probs(view.cls_logits).amax(0, keepdim=True))
            for (y, xx), pr in zip(chunk, view.probs, strict=True):
                cy, cx = y // m, xx // m
                mean = pr.mean((1, 2))
                means[:, row[y], col[xx]] = mean
                acc[..., cy: cy + cells, cx: cx + cells] += (pr - mean[:, None, None]) * weight
                wsum[..., cy: cy + cells, cx: cx + cells] += weight
        # Two bands, as in multi-band blending: each tile's detail (its map minus its mean) cross-fades over
        # the overlap, while the tiles' levels (their means) are interpolated between tile centres, so a level
        # that differs from tile to tile ramps over a whole tile instead of stepping at an overlap.
        # In place from here: at stride 4 one copy of a 10000x8000 image's grid is 80 MB.
        tiled = acc.div_(wsum)
        del wsum
        ay = interpolation_matrix([(y + tile / 2) / m for y in ys], hp // m, x.dtype, x.device)
        ax = interpolation_matrix([(xx + tile / 2) / m for xx in xs], wp // m, x.dtype, x.device)
        for c in range(len(LABELS)):  # one channel at a time: a full-size level field is 20 MB per channel here
            tiled[0, c].add_(ay @ means[c] @ ax.T)
        glob_up = F.interpolate(glob.probs, size=tiled.shape[-2:], mode="bilinear", align_corners=False)
        per_class = self.cfg.global_weights()
        # the clean state's map is never read (maps and fusion use the artifact states); it takes the mean
        beta = x.new_tensor((sum(per_class) / len(per_class), *per_class)).view(1, len(LABELS), 1, 1)
        return tiled.mul_(1 - beta).add_(glob_up.mul_(beta)), tile_cls
