"""The networks of the trainable methods: which one a method name builds, its start weights, and its rebuild
from a checkpoint.

Every network follows the ``ArtifactModel`` protocol, so that one training loop, one loss and one evaluation
harness serve them all and a comparison differs only in the model. A ``NetworkConfig`` holds what decides a
network: the training config extends it (``ipad_iqa.train.config``) and every checkpoint written by
``ipad-iqa train`` carries it in its metadata, so ``load_trained`` rebuilds exactly the trained model from the
file alone.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from ipad_iqa.baselines import anomalyclip, aprilgan
from ipad_iqa.baselines.convnet import ConvNetConfig, DenseBaseline
from ipad_iqa.baselines.manip import ManipNet
from ipad_iqa.baselines.segnet import SegNet
from ipad_iqa.factory import create_model
from ipad_iqa.model.ipad_clip import IPADCLIP, ViewOutput
from ipad_iqa.output import IPADOutput
from ipad_iqa.registry import get_variant, list_variants
from ipad_iqa.utils import typed_fields
from ipad_iqa.weights import WeightsError, load_into, read_keys, read_metadata, resolve_weights, sha256_file


@runtime_checkable
class ArtifactModel(Protocol):
    """What the loop, ``ipad_loss``, ``export_weights`` and the evaluation harness need of a model.

    The four states are (clean, ghosting, flare, moire). Models are ``nn.Module``s as well.
    """

    head_prefixes: tuple[str, ...]  # state keys under the head learning rate; required when loading

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> the model's input space."""

    def text_anchors(self) -> torch.Tensor:
        """Text anchors (K,O,D) passed to ``forward_views``; an empty tensor for models without text."""

    def forward_views(self, views: torch.Tensor, t: torch.Tensor) -> ViewOutput:
        """Normalised training-size views -> per-layer 4-state logits, probs, image logits and embedding."""

    def fuse(self, cls_logits: torch.Tensor, grid_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image logits (B,4) and grid probs (B,4,h,w) -> class_probs (B,3), score (B,1)."""

    def separation_loss(self, t: torch.Tensor) -> torch.Tensor:
        """Regulariser of the anchors; zero for models without learned text."""

    def __call__(self, x: torch.Tensor) -> IPADOutput:
        """Inference on RGB (B,3,H,W) in [0, 1], any size >= 32; maps at the input resolution."""


@dataclass(frozen=True)
class NetworkConfig:
    """The part of a training config that decides the network and where its weights start."""

    method: str = "ipad"  # key of MODEL_BUILDERS: ipad, aprilgan, anomalyclip, manip, segnet
    variant: str = "ipad_clip"  # CLIP-based methods: the registry variant giving backbone and arch defaults
    # CLIP-based methods: overrides of the variant's arch options; CNN baselines: their own network options
    arch: dict[str, Any] = field(default_factory=dict)
    clip_weights: str | None = None  # open_clip tag or file for the real-CLIP variants
    # CLIP-based methods: start the image and text towers from a checkpoint written by ipad-iqa (a file, or a
    # registry variant name for its shipped weights, e.g. ipad_clip); the head starts fresh. With
    # arch.freeze_backbone this trains heads on a shared backbone, as the methods compared would use CLIP.
    init_towers: str | None = None
    # Any method: start every weight (towers and head) from a checkpoint written by ipad-iqa, or a registry
    # variant name for its shipped weights: fine-tuning, or continuing a finished run with a new schedule
    # (``--resume`` instead continues the same schedule, optimizer state included).
    init_weights: str | None = None
    # parameter prefixes that start fresh although init_weights is set: modules the file's model did not have
    # (e.g. ["decoder.", "dense_adapter."] to start IPAD-CLIP v2 from v1 weights)
    init_fresh: tuple[str, ...] = ()
    # glob patterns of start-file keys that this model no longer has, left out of the load (e.g.
    # ["adapters.*.strength"]: v1's anchor-steering strengths, for a model without anchor steering)
    init_drop: tuple[str, ...] = ()
    seed: int = 0  # seed of the random initialisation (and, in training, of the data)


def network_config(data: dict[str, Any]) -> NetworkConfig:
    """The NetworkConfig within a whole training config (e.g. a checkpoint's ``config`` metadata)."""
    keys = {f.name for f in dataclasses.fields(NetworkConfig)}
    return NetworkConfig(**typed_fields(NetworkConfig, {k: v for k, v in data.items() if k in keys},
                                        "network option(s)"))


def build_clip_method(cfg: NetworkConfig, preset: dict[str, Any] | None = None) -> IPADCLIP:
    """IPADCLIP of ``cfg.variant`` with random head (and backbone for from-scratch variants).

    ``preset``: the arch options that define a CLIP baseline; ``cfg.arch`` may add to them, never contradict.
    """
    preset = preset or {}
    clash = sorted(k for k in preset if k in cfg.arch and cfg.arch[k] != preset[k])
    if clash:
        raise ValueError(f"method {cfg.method!r} fixes {', '.join(f'{k}={preset[k]!r}' for k in clash)}; "
                         "remove them from arch")
    variant = dataclasses.replace(get_variant(cfg.variant), weights=None, allow_random_init=True)
    return create_model(variant, clip_weights=cfg.clip_weights, arch={**preset, **cfg.arch}, init_seed=cfg.seed)


def build_convnet(cfg: NetworkConfig, net: type[DenseBaseline]) -> DenseBaseline:
    """A CNN baseline with the network options ``cfg.arch``."""
    return net(ConvNetConfig.from_dict(cfg.arch))


MODEL_BUILDERS: dict[str, Callable[[NetworkConfig], nn.Module]] = {
    "ipad": build_clip_method,
    "aprilgan": partial(build_clip_method, preset=aprilgan.ARCH),
    "anomalyclip": partial(build_clip_method, preset=anomalyclip.ARCH),
    "manip": partial(build_convnet, net=ManipNet),
    "segnet": partial(build_convnet, net=SegNet),
}


def checkpoint_file(source: str, option: str) -> Path:
    """``init_towers``/``init_weights`` as a file: a registry variant name means its shipped (sha256-checked) weights."""
    if source in list_variants():
        variant = get_variant(source)
        return resolve_weights(variant.name, variant.weights)
    path = Path(source).expanduser()
    if not path.is_file():
        raise WeightsError(f"{option}={source!r} is neither a registry variant nor an existing file")
    return path


def build_model(cfg: NetworkConfig, start_weights: bool = True) -> nn.Module:
    """The model of ``cfg.method`` before training: random, then (``start_weights``) ``cfg.init_towers`` or
    ``cfg.init_weights`` loaded into it."""
    if cfg.method not in MODEL_BUILDERS:
        raise ValueError(f"unknown method {cfg.method!r}; known: {', '.join(MODEL_BUILDERS)}")
    if cfg.init_towers and cfg.init_weights:
        raise ValueError("init_towers and init_weights both set; init_weights already starts the towers")
    model = MODEL_BUILDERS[cfg.method](cfg)
    if start_weights:
        load_start_weights(model, cfg)
    return model


def start_file(cfg: NetworkConfig) -> Path | None:
    """The file ``cfg.init_towers`` or ``cfg.init_weights`` names, if either is set."""
    if cfg.init_towers:
        return checkpoint_file(cfg.init_towers, "init_towers")
    return checkpoint_file(cfg.init_weights, "init_weights") if cfg.init_weights else None


def load_start_weights(model: nn.Module, cfg: NetworkConfig, expect_sha256: str | None = None) -> None:
    """Load ``cfg.init_towers`` (CLIP towers only) or ``cfg.init_weights`` (the whole model) into ``model``.

    ``expect_sha256``: the start file's hash when a head was trained on it; a head-only checkpoint is only
    meaningful on those exact towers, so another file under the same name (new shipped weights) is refused.
    """
    path = start_file(cfg)
    if path is None:
        return
    if expect_sha256 is not None and (found := sha256_file(path)) != expect_sha256:
        raise WeightsError(f"this head was trained on start weights with sha256 {expect_sha256[:12]}..., but "
                           f"{path} (init_towers/init_weights of its config) now has {found[:12]}...; restore "
                           "that file or retrain the head")
    if cfg.init_towers:
        towers = getattr(model, "tower_prefixes", None)
        if towers is None:
            raise ValueError(f"init_towers needs a CLIP-based method; {cfg.method!r} has no CLIP towers "
                             "(init_weights starts a whole model)")
        load_into(model, path, towers, only=towers)
    else:
        load_into(model, path, tuple(p for p in model.head_prefixes if p not in cfg.init_fresh),
                  drop=cfg.init_drop)


def load_trained(path: str | os.PathLike, arch: dict[str, Any] | None = None, device: str = "cpu",
                 expect_method: str | None = None) -> nn.Module:
    """Rebuild the model a checkpoint was trained as, load it, and return it in eval mode.

    ``arch``: inference-time overrides merged into the stored ``arch`` (e.g. ``{"cls_weight": 1.0}``).
    ``expect_method``: refuse a checkpoint of another method (e.g. a segnet file passed as aprilgan).
    Checkpoints written before ``method`` existed are IPAD-CLIP ones.
    """
    try:
        meta = read_metadata(path)
    except Exception as err:  # safetensors raises its own error types
        raise WeightsError(f"{path}: not a readable safetensors checkpoint ({err})") from err
    if not isinstance(meta.get("config"), dict):
        raise WeightsError(f"{path}: no training config in its metadata; not written by `ipad-iqa train`")
    cfg = network_config(meta["config"])
    if expect_method is not None and cfg.method != expect_method:
        raise WeightsError(f"{path} was trained as method {cfg.method!r}, not {expect_method!r}")
    if arch:
        cfg = dataclasses.replace(cfg, arch={**cfg.arch, **arch})
    model = build_model(cfg, start_weights=False)
    if all(key.startswith(model.head_prefixes) for key in read_keys(path)):
        # a head-only file: its frozen towers are the run's start weights, checked by hash when recorded
        load_start_weights(model, cfg, expect_sha256=meta.get("start_sha256"))
    load_into(model, path, model.head_prefixes)
    return model.to(device).eval()
