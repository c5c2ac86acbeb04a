"""Architecture settings of IPAD-CLIP, filled from the ``arch`` section of registry.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ipad_iqa.utils import typed_fields

PROMPT_MODES: tuple[str, ...] = ("learned", "fixed")
ADAPTERS: tuple[str, ...] = ("bottleneck", "linear")
# the options that take one of a few names, and those names
CHOICES: dict[str, tuple[str, ...]] = {"prompt_mode": PROMPT_MODES, "adapter": ADAPTERS}


@dataclass(frozen=True)
class IPADArchConfig:
    """Everything that shapes the IPAD-CLIP head and its inference; the backbone is named separately.

    Defaults are our choices (the paper publishes none) and those of the shipped ``ipad_clip``, so registry.yaml
    states only what a variant changes; docs/model.md explains each.
    """

    tap_layers: tuple[int, ...] | None = None  # 1-based block indices; None = 4 evenly spaced, last included
    n_ctx: int = 4  # learnable context tokens shared by every prompt
    n_state_tokens: int = 2  # learnable tokens per artifact state (clean, ghosting, flare, moire)
    # vocabulary name in objects.yaml. "agnostic" (one generic word, no per-image object weighting) for the
    # embedded model, which trains and reads it: a text tower trained from scratch ignored the object words
    # (docs/history.md); "default" (the paper's object-artifact prompts) for pretrained text towers.
    objects: str = "agnostic"
    object_temperature: float = 0.1  # softmax temperature of the per-image object weights
    use_adapters: bool = True  # residual bottleneck adapters on tapped patch features
    # pull patch features toward the anchors they match (v1); v2 trains as well without it (docs/history.md)
    anchor_steering: bool = False
    adapter_reduction: int = 4
    steer_temperature: float = 0.1
    smooth_sigma: float = 0.7  # Gaussian smoothing of the maps, in map cells
    # IPAD-CLIP v2: maps at stride 4 from a pyramid decoder fusing convolutional detail with the tapped layers
    # (model/pyramid.py); False: maps on the ViT's patch grid (v1). Zero-shot maps always use the patch grid.
    pyramid: bool = True
    decoder_width: int = 64
    # fixed local-spectrum channels (model/cues.py) entering the conv stem at stride 4, for moiré
    moire_cue: bool = False
    # a full-resolution branch beside the conv stem's first strided convolution (backbone.ConvStem), for fine fringes
    fine_stem: bool = False
    topk_ratio: float = 0.02  # fraction of map pixels pooled into the map-based image probability
    cls_weight: float = 0.5  # weight of the class-token prediction in the fused class probability
    tile_size: int = 224  # native-scale tile edge; also the size of the global view
    tile_overlap: int = 32  # minimum overlap of neighbouring tiles; tiles are spread evenly (model/tiling.py)
    tile_batch: int = 16  # tiles per forward chunk: bounds memory, never mixes images
    # share of the global view in the stitched maps of tiled images: one value, or one per artifact class
    # (ghosting, flare, moire), since the classes are seen at different scales
    global_weight: float | tuple[float, float, float] = 0.25
    freeze_backbone: bool = False  # True: train the head only (the variants on pretrained CLIP towers)
    conv_stem: bool = True  # strided-conv patch embedding (from-scratch backbones only; see backbone.ConvStem)
    zero_shot: bool = False  # hand-written prompt ensembles, no trained head
    prompt_mode: str = "learned"  # "fixed": hand-written prompts through the (trainable) text tower, APRIL-GAN-style
    adapter: str = "bottleneck"  # "linear": one linear map per tapped layer into the text space, APRIL-GAN-style
    tiling: bool = True  # False: the whole image resized to one tile-size view (the 224-px global-only ablation)

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if (value := getattr(self, name)) not in allowed:
                raise ValueError(f"{name} {value!r} not in {allowed}")
        if self.adapter == "linear" and self.anchor_steering:
            raise ValueError("adapter 'linear' has no anchor steering; set anchor_steering: false")
        if not 0 <= self.tile_overlap < self.tile_size:
            raise ValueError(f"tile_overlap {self.tile_overlap} must be in [0, tile_size {self.tile_size})")
        if not all(0.0 <= w <= 1.0 for w in self.global_weights()):
            raise ValueError(f"global_weight {self.global_weight} outside [0, 1]")

    def global_weights(self) -> tuple[float, float, float]:
        """``global_weight`` per artifact class."""
        w = self.global_weight
        return w if isinstance(w, tuple) else (w, w, w)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IPADArchConfig:
        return cls(**typed_fields(cls, data, "arch option(s)"))

    def resolve_tap_layers(self, depth: int) -> tuple[int, ...]:
        """1-based indices of the blocks whose patch tokens feed the maps."""
        if self.tap_layers is not None:
            bad = [i for i in self.tap_layers if not 1 <= i <= depth]
            if bad:
                raise ValueError(f"tap_layers {bad} outside 1..{depth}")
            return self.tap_layers
        n = min(4, depth)
        return tuple(sorted({round(depth * (i + 1) / n) for i in range(n)}))
