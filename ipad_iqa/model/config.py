"""Architecture settings of IPAD-CLIP, filled from the ``arch`` section of registry.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ipad_iqa.utils import typed_fields

PROMPT_MODES: tuple[str, ...] = ("learned", "fixed")
ADAPTERS: tuple[str, ...] = ("bottleneck", "linear")
CLASS_TOKEN_VIEWS: tuple[str, ...] = ("global", "tiles", "both")
TILE_ANCHORS: tuple[str, ...] = ("global", "own")
MAP_GATES: tuple[str, ...] = ("none", "class_token")
# the options that take one of a few names, and those names
CHOICES: dict[str, tuple[str, ...]] = {"prompt_mode": PROMPT_MODES, "class_token_view": CLASS_TOKEN_VIEWS,
                                       "map_gate": MAP_GATES, "tile_anchors": TILE_ANCHORS, "adapter": ADAPTERS}


@dataclass(frozen=True)
class IPADArchConfig:
    """Everything that shapes the IPAD-CLIP head and its inference; the backbone is named separately.

    Defaults are our choices (the paper publishes none); docs/model.md explains each.
    """

    tap_layers: tuple[int, ...] | None = None  # 1-based block indices; None = 4 evenly spaced, last included
    n_ctx: int = 4  # learnable context tokens shared by every prompt
    n_state_tokens: int = 2  # learnable tokens per artifact state (clean, ghosting, flare, moire)
    objects: str = "default"  # vocabulary name in objects.yaml; "agnostic" = object-agnostic prompts
    object_temperature: float = 0.1  # softmax temperature of the per-image object weights
    use_adapters: bool = True  # residual bottleneck adapters on tapped patch features
    anchor_steering: bool = True  # pull patch features toward the anchors they match
    adapter_reduction: int = 4
    steer_temperature: float = 0.1
    smooth_sigma: float = 0.7  # Gaussian smoothing of the maps, in map cells
    # IPAD-CLIP v2: maps at stride 4 from a pyramid decoder fusing convolutional detail with the tapped layers
    # (model/pyramid.py); False: maps on the ViT's patch grid (v1). Zero-shot maps always use the patch grid.
    pyramid: bool = True
    decoder_width: int = 64
    # "class_token": each view's artifact maps become the geometric mean of the map and that view's class-token
    # probability of the class (heads.gate_maps), so a tile its class token deems clean keeps little of any map
    map_gate: str = "none"
    topk_ratio: float = 0.02  # fraction of map pixels pooled into the map-based image probability
    cls_weight: float = 0.5  # weight of the class-token prediction in the fused class probability
    # whose class token gives that prediction for a tiled image: the global view (the image resized to one
    # tile), the native-scale tiles (per class, the most confident tile: the scale and crop the class token is
    # trained on, each crop labelled by the artifact it holds), or the mean of the two
    class_token_view: str = "global"
    tile_size: int = 224  # native-scale tile edge; also the size of the global view
    tile_overlap: int = 32
    tile_batch: int = 16  # tiles per forward chunk: bounds memory, never mixes images
    # whose class token weighs the objects of a tile's anchors: the global view's (one context for the whole
    # image) or the tile's own (as every training crop does)
    tile_anchors: str = "global"
    # share of the global view in the stitched maps of tiled images: one value, or one per artifact class
    # (ghosting, flare, moire), since the classes are seen at different scales
    global_weight: float | tuple[float, float, float] = 0.25
    freeze_backbone: bool = True
    conv_stem: bool = False  # strided-conv patch embedding (from-scratch backbones only; see backbone.ConvStem)
    zero_shot: bool = False  # hand-written prompt ensembles, no trained head
    prompt_mode: str = "learned"  # "fixed": hand-written prompts through the (trainable) text tower, APRIL-GAN-style
    adapter: str = "bottleneck"  # "linear": one linear map per tapped layer into the text space, APRIL-GAN-style
    tiling: bool = True  # False: the whole image resized to one tile-size view (the 224-px global-only ablation)
    # resize factor applied to the input before the model sees it (maps come back at the input's size): >1 spreads
    # a fine artifact over more patch cells, at the cost of about input_scale**2 the compute
    input_scale: float = 1.0

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if (value := getattr(self, name)) not in allowed:
                raise ValueError(f"{name} {value!r} not in {allowed}")
        if self.adapter == "linear" and self.anchor_steering:
            raise ValueError("adapter 'linear' has no anchor steering; set anchor_steering: false")
        if not 0.25 <= self.input_scale <= 4.0:
            raise ValueError(f"input_scale {self.input_scale} outside [0.25, 4]")
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
