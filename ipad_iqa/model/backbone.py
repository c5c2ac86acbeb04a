"""open_clip CLIP wrapper exposing intermediate patch tokens at any input size.

Position embeddings are interpolated in 2D at run time; the stored parameter is never modified, so a
checkpoint saved after inference at odd sizes is identical to the one loaded.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path

import open_clip
import torch
import torch.nn.functional as F
from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME
from torch import nn

from ipad_iqa.model.cpu_layers import GroupNorm, SelfAttention
from ipad_iqa.weights import downloads_allowed

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
open_clip.add_model_config(CONFIG_DIR)


@contextmanager
def _quiet_random_init():
    """open_clip warns on every random initialisation; ours are deliberate (weights are loaded after)."""

    def drop(record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


@contextmanager
def _hub_offline(offline: bool):
    """Make open_clip's hub downloads honour our offline switch even if set after huggingface_hub import."""
    import huggingface_hub.constants as hub

    before = hub.HF_HUB_OFFLINE
    hub.HF_HUB_OFFLINE = before or offline
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = before


class BackboneError(RuntimeError):
    """The CLIP backbone or its weights could not be created."""


def check_clip_source(model_name: str, pretrained: str | None) -> None:
    """Refuse, before anything is built, an unknown open_clip model or CLIP weights that are neither an open_clip
    tag of the model nor an existing file (a misspelt ``clip_weights=`` must be named, not hidden behind
    another error)."""
    if model_name not in open_clip.list_models():
        raise BackboneError(f"unknown open_clip model {model_name!r}; see open_clip.list_models()")
    if pretrained is None or open_clip.get_pretrained_cfg(model_name, pretrained) or Path(pretrained).is_file():
        return
    raise BackboneError(f"clip_weights={pretrained!r}: no such file, nor an open_clip tag of {model_name}; "
                        f"clip_weights= takes a local open_clip checkpoint of {model_name}")


def _hub_checkpoint(model_name: str, tag: str) -> tuple[str, str]:
    """(repo id, file name) of an open_clip tag's checkpoint on the Hugging Face Hub (open_clip's own layout)."""
    model_id, filename = os.path.split(open_clip.get_pretrained_cfg(model_name, tag)["hf_hub"])
    return model_id, filename or HF_WEIGHTS_NAME


def _tag_cached(model_name: str, tag: str) -> bool:
    """Whether the checkpoint of an open_clip tag is in the Hugging Face cache (open_clip reads the safetensors
    copy first when there is one)."""
    from huggingface_hub import try_to_load_from_cache

    model_id, filename = _hub_checkpoint(model_name, tag)
    names = (filename, HF_SAFE_WEIGHTS_NAME if filename == HF_WEIGHTS_NAME else Path(filename).stem + ".safetensors")
    return any(isinstance(try_to_load_from_cache(model_id, name), str) for name in names)


def _require_tag_reachable(model_name: str, tag: str) -> None:
    """Fail in one line when an uncached tag cannot be downloaded: downloads are off, or one request to the Hub
    (without the retries, a minute long, of a download) fails."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    model_id, filename = _hub_checkpoint(model_name, tag)
    if not downloads_allowed():
        reason = "downloads are off (HF_HUB_OFFLINE/IPAD_IQA_OFFLINE)"
    else:
        try:
            get_hf_file_metadata(hf_hub_url(model_id, filename), timeout=10)
            return
        except Exception as err:  # connection, DNS, HTTP or hub errors alike mean: cannot download now
            reason = f"the Hugging Face Hub did not answer ({type(err).__name__})"
    raise BackboneError(f"CLIP weights {tag!r} of {model_name} ({model_id}/{filename}) are not in the Hugging "
                        f"Face cache and {reason}; give a local open_clip checkpoint with clip_weights=FILE")


def uses_quick_gelu(model_name: str, tag: str | None) -> bool:
    """Whether the weights of open_clip ``tag`` need QuickGELU (OpenAI's do; open_clip's ``ViT-B-16`` config
    does not say so, and loading them without it changes every activation silently)."""
    return bool(tag and open_clip.get_pretrained_cfg(model_name, tag).get("quick_gelu", False))


def create_clip(model_name: str, pretrained: str | None, family: str | None = None) -> nn.Module:
    """Build an open_clip CLIP model; ``pretrained`` is an open_clip tag, a local file, or None (random).

    A tag is loaded from the Hugging Face cache without any network call when it is there, and downloaded only
    when downloads are allowed and the Hub answers; otherwise a one-line :class:`BackboneError` says what to pass.
    The activation follows the tag's weights; a local file or a random tower takes that of ``family``, the tag
    the variant registers (a local copy of OpenAI's weights is built with QuickGELU, as they were trained).
    """
    check_clip_source(model_name, pretrained)
    is_tag = bool(pretrained and open_clip.get_pretrained_cfg(model_name, pretrained))
    quick_gelu = uses_quick_gelu(model_name, pretrained if is_tag else family)
    if pretrained is None:
        with _quiet_random_init():
            return open_clip.create_model(model_name, pretrained=None, force_quick_gelu=quick_gelu)
    cached = is_tag and _tag_cached(model_name, pretrained)
    if is_tag and not cached:
        _require_tag_reachable(model_name, pretrained)
    try:
        with _hub_offline(cached or not downloads_allowed()):
            return open_clip.create_model(model_name, pretrained=pretrained, require_pretrained=True,
                                          force_quick_gelu=quick_gelu)
    except Exception as err:  # open_clip raises many types (HTTP, hub, RuntimeError, KeyError)
        raise BackboneError(f"could not load CLIP weights {pretrained!r} into {model_name}: {_gist(err)}; "
                            f"clip_weights= takes a local open_clip checkpoint of {model_name}") from err


def _gist(err: Exception, limit: int = 160) -> str:
    """A library error in one short line: its first line (with the next, when the first ends in a colon, as
    "Error(s) in loading state_dict:" does), cut to its first sentence when long (torch.load's advice on
    ``weights_only`` runs to three sentences that do not apply to a file that is no checkpoint)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    text = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    if len(text) > limit:
        text = text.split(". ")[0].rstrip(".")[:limit]
    return text


FINE_CHANNELS = 16  # full-resolution filters of ConvStem's fine branch


class ConvStem(nn.Module):
    """Strided 3x3 convolutions replacing the ViT's linear patch embedding (same stride, same width).

    Ours, for from-scratch training only: early convolutions make ViTs far easier to optimise on small data
    and give the tokens the local, low-level filters that moire, double edges and glare need.
    """

    def __init__(self, width: int, patch_size: int, cue_channels: int = 0, fine: bool = False):
        """``cue_channels``: channels of fixed stride-4 cues (``model.cues``) added to the stride-4 activations
        through a zero-initialised 1x1 convolution, so that the tokens and the detail both see them; 0: none.
        ``fine``: a full-resolution branch (a 3x3 convolution and GELU at stride 1, then a strided 3x3 one)
        added to the first stage's output: the first strided convolution samples 3-4 px fringes at their Nyquist
        limit, and a rectified full-resolution response keeps their energy. Its last convolution starts at zero
        (a warm-started stem keeps its outputs)."""
        super().__init__()
        steps = patch_size.bit_length() - 1
        if 2**steps != patch_size or steps < 4:
            raise BackboneError(f"conv_stem needs a power-of-two patch size of at least 16, got {patch_size}")
        chans = [3] + [min(width, 32 * 2**i) for i in range(steps)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:], strict=False):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), GroupNorm(8, c_out), nn.GELU()]
        layers.append(nn.Conv2d(chans[-1], width, 1))
        self.body = nn.Sequential(*layers)
        self.cue_in = nn.Conv2d(cue_channels, chans[2], 1) if cue_channels else None
        if self.cue_in is not None:  # starts silent: a warm-started stem keeps its outputs
            nn.init.zeros_(self.cue_in.weight)
            nn.init.zeros_(self.cue_in.bias)
        self.fine = None
        if fine:
            # no normalisation at full resolution: the input is already normalised, and a group norm there
            # costs more than both convolutions
            self.fine = nn.Sequential(nn.Conv2d(3, FINE_CHANNELS, 3, padding=1), nn.GELU(),
                                      nn.Conv2d(FINE_CHANNELS, chans[1], 3, stride=2, padding=1))
            nn.init.zeros_(self.fine[-1].weight)
            nn.init.zeros_(self.fine[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # oneDNN runs these convolutions in channels-last layout; NCHW costs a reorder per layer (the 3-channel
        # first one is ~6x slower). The output (B,C,gh,gw) then flattens into tokens without a copy.
        x = x.contiguous(memory_format=torch.channels_last)
        if self.fine is None:
            return self.body(x)
        return self.body[3:](self.body[:3](x) + self.fine(x))

    @property
    def detail_channels(self) -> tuple[int, int]:
        """Channels of the stride-4 and stride-8 activations (see :meth:`pyramid`)."""
        return self.body[3].out_channels, self.body[6].out_channels

    def pyramid(self, x: torch.Tensor, cue: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The stem's output and its stride-4 and stride-8 activations, from one pass (the dense decoder's
        detail comes free with the patch embedding); ``cue`` (B,C,H/4,W/4) joins at stride 4."""
        x = x.contiguous(memory_format=torch.channels_last)
        h = x
        taps = []
        for i, layer in enumerate(self.body, start=1):
            h = layer(h)
            if i == 3 and self.fine is not None:
                h = h + self.fine(x)
            if i == 6 and self.cue_in is not None:
                h = h + self.cue_in(cue.to(h.dtype).contiguous(memory_format=torch.channels_last))
            if i in (6, 9):  # after the GELU of the second and third strided stage
                taps.append(h)
        return h, taps[0], taps[1]


class ClipBackbone(nn.Module):
    """Vision tower returning the projected class token and projected patch tokens of tapped blocks."""

    def __init__(self, clip: nn.Module, tap_layers: tuple[int, ...], conv_stem: bool = False,
                 cue_channels: int = 0, fine_stem: bool = False):
        super().__init__()
        self.visual = clip.visual
        if not hasattr(self.visual, "conv1") or not hasattr(self.visual.transformer, "resblocks"):
            raise BackboneError("IPAD-CLIP needs an open_clip ViT image tower (conv1 + resblocks)")
        self.tap_layers = tap_layers
        self.patch_size = int(self.visual.conv1.kernel_size[0])
        self.width = int(self.visual.conv1.out_channels)
        if conv_stem:
            self.visual.conv1 = ConvStem(self.width, self.patch_size, cue_channels, fine_stem)
        self.embed_dim = int(self.visual.proj.shape[1])
        self.depth = len(self.visual.transformer.resblocks)
        for block in self.visual.transformer.resblocks:
            block.attn = SelfAttention.like(block.attn)

    def _pos_embed(self, gh: int, gw: int) -> torch.Tensor:
        pos = self.visual.positional_embedding
        cls_pos, patch_pos = pos[:1], pos[1:]
        g = int(round(patch_pos.shape[0] ** 0.5))
        if (gh, gw) == (g, g):
            return pos
        grid = patch_pos.reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([cls_pos, grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], dim=0)

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """Map tokens of any block into the joint image-text space (ln_post + proj, as for the class token)."""
        return self.visual.ln_post(tokens) @ self.visual.proj

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens entering the first block, [class, patches] (B,1+gh*gw,width), position embeddings added.

        x: normalised (B,3,H,W), H and W multiples of the patch size.
        """
        return self._embed_tokens(self.visual.conv1(x).flatten(2).transpose(1, 2), *x.shape[-2:])

    def _embed_tokens(self, t: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Patch tokens (B,gh*gw,width) of an (h, w) input -> tokens entering the first block."""
        v = self.visual
        gh, gw = h // self.patch_size, w // self.patch_size
        cls = v.class_embedding.to(t.dtype).expand(t.shape[0], 1, -1)
        t = torch.cat([cls, t], dim=1) + self._pos_embed(gh, gw).to(t.dtype)
        return v.ln_pre(t)

    def encode_tokens(self, t: torch.Tensor) -> torch.Tensor:
        """Projected class embedding (B,D) of any token sequence from ``embed``, e.g. a subset of its patches
        (WinCLIP-style windows encode only their own patches)."""
        for block in self.visual.transformer.resblocks:
            t = block(t)
        return self.project(t[:, 0])

    @property
    def detail_channels(self) -> tuple[int, int] | None:
        """Channels of the stem's stride-4/8 activations, or None when the patch embedding is one layer."""
        stem = self.visual.conv1
        return stem.detail_channels if isinstance(stem, ConvStem) else None

    def forward_dense(self, x: torch.Tensor, cue: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, list[torch.Tensor], tuple[torch.Tensor, torch.Tensor] | None]:
        """As :meth:`forward`, plus the conv stem's stride-4 and stride-8 activations (None without a stem);
        ``cue``: the stem's stride-4 cue input (``ConvStem``)."""
        stem = self.visual.conv1
        if not isinstance(stem, ConvStem):
            cls, taps = self.forward(x)
            return cls, taps, None
        tokens, s4, s8 = stem.pyramid(x, cue)
        cls, taps = self._blocks(self._embed_tokens(tokens.flatten(2).transpose(1, 2), *x.shape[-2:]))
        return cls, taps, (s4, s8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x: normalised (B,3,H,W), H and W multiples of the patch size.

        Returns the class embedding (B,D) and, per tapped block, patch embeddings (B,gh*gw,D).
        """
        return self._blocks(self.embed(x))

    def _blocks(self, t: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        taps = []
        for i, block in enumerate(self.visual.transformer.resblocks, start=1):
            t = block(t)
            if i in self.tap_layers:
                taps.append(self.project(t[:, 1:]))
        return self.project(t[:, 0]), taps
