"""WinCLIP-style zero-shot baseline: windows of patch tokens encoded as images of their own, compared with
hand-written prompt ensembles, aggregated onto pixels by harmonic averaging.

As in WinCLIP (Jeong et al., CVPR 2023): every s x s window of patch tokens (with its position embeddings)
runs through the image encoder alone after the class token, and the window's class embedding is scored
against the state prompts; a patch's probability is the harmonic mean over the windows covering it, averaged
over the window scales; the image probability averages the whole-image zero-shot prediction with the map
maximum. Ours or left out: the prompt ensembles (``ZERO_SHOT_PHRASES`` with one generic object word, since the
object class is unknown here), a single 224-px view (no tiling: WinCLIP has none), no few-shot memory bank.

The method's premise is a web-scale pretrained CLIP whose two towers agree on phrases like "lens flare".
``winclip`` runs on the only CLIP-architecture weights available offline, the shipped ipad-clip-s (trained
here on IPAD-Synth with learned prompts, never on these sentences), so it measures what zero-shot prompting
gets out of that model, not what WinCLIP gets out of OpenAI CLIP; ``winclip_vitb16`` is the real setting for
users who have the OpenAI ViT-B-16 weights (``--checkpoint winclip_vitb16=/path/to/open_clip_ViT-B-16.bin``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ipad_iqa.baselines import ops
from ipad_iqa.baselines.base import Detector, DetectorConfig
from ipad_iqa.io import validate_batch
from ipad_iqa.model.heads import class_token_probs, fuse_probs
from ipad_iqa.model.ipad_clip import IPADCLIP
from ipad_iqa.model.prompts import FixedPrompts, object_vocabulary
from ipad_iqa.output import IPADOutput

#: Detector name -> the ipad_clip* variant whose CLIP towers it runs on.
WINCLIP_VARIANTS: dict[str, str] = {"winclip": "ipad_clip", "winclip_vitb16": "ipad_clip_vitb16"}


@dataclass(frozen=True)
class WinCLIPConfig:
    """Window scales in patches (WinCLIP's small and mid windows) and how many windows one forward holds."""

    scales: tuple[int, ...] = (2, 3)
    window_batch: int = 512


def window_index(gh: int, gw: int, size: int) -> torch.Tensor:
    """Patch indices (n_windows, size*size) of every size x size window at stride 1 on a gh x gw grid."""
    starts = (torch.arange(gh - size + 1)[:, None] * gw + torch.arange(gw - size + 1)[None, :]).flatten()
    offsets = (torch.arange(size)[:, None] * gw + torch.arange(size)[None, :]).flatten()
    return starts[:, None] + offsets[None, :]


def harmonic_to_patches(probs: torch.Tensor, gh: int, gw: int, size: int) -> torch.Tensor:
    """Window probabilities (n_windows, K), windows in row-major order -> (1, K, gh, gw): per patch, the
    harmonic mean over the windows that cover it (one confident-normal window keeps a patch normal)."""
    k = probs.shape[1]
    inv = (1.0 / probs.clamp_min(1e-6)).T.reshape(1, k, gh - size + 1, gw - size + 1)
    ones = probs.new_ones(k, 1, size, size)
    total = F.conv_transpose2d(inv, ones, groups=k)
    count = F.conv_transpose2d(torch.ones_like(inv[:, :1]), ones[:1])
    return count / total


class WinCLIPDetector(Detector):
    """Zero-shot windows on a CLIP-architecture IPADCLIP model; ``anchors`` (K, D) are the state prompts."""

    def __init__(self, name: str, model: IPADCLIP, anchors: torch.Tensor, config: WinCLIPConfig,
                 device: str = "cpu") -> None:
        self.name, self.model, self.config, self.device = name, model, config, torch.device(device)
        self.anchors = anchors
        self.scale = model.log_scale.detach().exp().clamp(max=100.0)

    def _logits(self, emb: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(emb, dim=-1) @ self.anchors.T

    def _one(self, x: torch.Tensor) -> IPADOutput:
        backbone = self.model.backbone
        view = self.model.global_view(x)
        gh, gw = view.shape[-2] // backbone.patch_size, view.shape[-1] // backbone.patch_size
        tokens = backbone.embed(view)
        cls_logits = self._logits(backbone.encode_tokens(tokens))
        grids = []
        for size in (s for s in self.config.scales if s <= min(gh, gw)):
            idx = window_index(gh, gw, size).to(tokens.device)
            seqs = torch.cat([tokens[:, :1].expand(idx.shape[0], -1, -1), tokens[0, 1:][idx]], dim=1)
            emb = torch.cat([backbone.encode_tokens(chunk) for chunk in seqs.split(self.config.window_batch)])
            grids.append(harmonic_to_patches(self._logits(emb).softmax(-1), gh, gw, size))
        # A view one patch thin fits no window: the whole-image prediction stands for every patch.
        grid = torch.stack(grids).mean(0) if grids else cls_logits.softmax(-1)[:, :, None, None].expand(
            -1, -1, gh, gw)
        class_probs, score = fuse_probs(class_token_probs(cls_logits), grid, cls_weight=0.5,
                                       topk_ratio=0.0)  # top-1: the max
        return IPADOutput(score, class_probs, ops.resize(grid[:, 1:], tuple(x.shape[-2:])).clamp(0, 1))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, references: torch.Tensor | None = None) -> IPADOutput:
        images = validate_batch(images).to(self.device, torch.float32)
        outs = [self._one(images[i: i + 1]) for i in range(images.shape[0])]
        return IPADOutput(*(torch.cat(parts) for parts in zip(*outs, strict=True)))


def state_anchors(model: IPADCLIP) -> torch.Tensor:
    """(K, D) prompt-ensemble embeddings of the states for one generic object word.

    A zero-shot model (real CLIP) has them already; a trained from-scratch model encodes the same phrases
    with its own text tower.
    """
    if model.cfg.zero_shot:  # built with the one-word vocabulary
        return model.text_anchors()[:, 0]
    prompts = FixedPrompts(model.text, object_vocabulary("agnostic")).to(model.mean.device)
    with torch.no_grad():
        return prompts(model.text)[:, 0]


def factory(name: str) -> Callable[[DetectorConfig], WinCLIPDetector]:
    """The METHODS factory of ``name``. ``config.checkpoint`` is read as CLIP weights for the real-CLIP
    variants, and as an ipad-iqa checkpoint of the whole model (e.g. earlier shipped weights) whose towers
    replace the shipped ones for a variant trained here."""
    variant = WINCLIP_VARIANTS[name]

    def build(config: DetectorConfig) -> WinCLIPDetector:
        from ipad_iqa.factory import create_model
        from ipad_iqa.registry import get_variant

        if get_variant(variant).weights is not None:  # a CLIP trained here: its own towers, head unused
            model = create_model(variant, head_weights=config.checkpoint, device=config.device)
        else:  # pretrained CLIP: registry tag, or a local file given as the checkpoint
            model = create_model(variant, zero_shot=True, clip_weights=config.checkpoint,
                                 arch={"objects": "agnostic"}, device=config.device)
        return WinCLIPDetector(name, model, state_anchors(model), WinCLIPConfig(), config.device)

    return build
