"""Build an IPAD-CLIP model from a registry variant, with explicit overrides that always win."""

from __future__ import annotations

import dataclasses
import os

import torch

from ipad_iqa.model.backbone import check_clip_source, create_clip
from ipad_iqa.model.config import IPADArchConfig
from ipad_iqa.model.ipad_clip import IPADCLIP
from ipad_iqa.model.prompts import prompt_vocabulary
from ipad_iqa.registry import Variant, clip_variants, get_variant
from ipad_iqa.thresholds import Thresholds
from ipad_iqa.utils import typed_fields, unknown_keys
from ipad_iqa.weights import WeightsError, WeightsMismatchError, load_into, read_metadata, resolve_weights

HEAD_PREFIXES: tuple[str, ...] = IPADCLIP.head_prefixes


def create_model(
    variant: str | Variant,
    *,
    clip_weights: str | os.PathLike | None = None,
    head_weights: str | os.PathLike | None = None,
    zero_shot: bool | None = None,
    random_init: bool = False,
    arch: dict | None = None,
    device: str | torch.device = "cpu",
    init_seed: int = 0,
) -> IPADCLIP:
    """Create the model of a variant.

    clip_weights: open_clip tag or local checkpoint overriding the registry's backbone weights.
    head_weights: local IPAD checkpoint overriding the registry's weights entry.
    zero_shot: hand-written prompt ensembles instead of a trained head (needs real CLIP weights).
    random_init: random backbone and head, no file read or downloaded (tests, benchmarks of cost).
    arch: overrides of the variant's arch options (e.g. tile_size), validated like the registry.
    init_seed: seed of the random initialisation, so that untrained models are deterministic.
    """
    v = get_variant(variant) if isinstance(variant, str) else variant
    if misplaced := sorted(set(arch or {}) & {"clip_weights", "head_weights", "random_init", "init_seed"}):
        raise ValueError(f"{misplaced} are not arch options but arguments of their own: pass "
                         f"{misplaced[0]}=... beside arch=, not inside it")
    # overrides arrive as YAML or Python values (NAME[key=value], pyiqa's arch=, train configs): typed here
    cfg = dataclasses.replace(v.arch, **typed_fields(IPADArchConfig, arch or {}, "arch option(s)"))
    if zero_shot is not None:
        cfg = dataclasses.replace(cfg, zero_shot=zero_shot)
    clip_source = None if random_init else (str(clip_weights) if clip_weights is not None else v.clip_pretrained)
    if cfg.conv_stem and (cfg.zero_shot or clip_source is not None) and not random_init:
        # the towers of a conv-stem variant are its own, trained from scratch: no CLIP checkpoint fits them
        wanted = "zero_shot=True" if cfg.zero_shot else f"clip_weights={clip_source!r}"
        raise ValueError(f"{v.name}: {wanted} needs a variant built on a pretrained CLIP backbone "
                         f"({', '.join(clip_variants())}); {v.name}'s towers are its own, trained from scratch")
    check_clip_source(v.clip_model, clip_source)  # a missing clip_weights file is named before the head's
    if cfg.zero_shot and clip_source is None and not random_init:
        raise WeightsError(f"{v.name}: zero_shot=True needs pretrained CLIP weights; pass clip_weights=...")
    if not (cfg.zero_shot or head_weights is not None or v.weights is not None or random_init
            or v.allow_random_init):
        cmd = f"ipad-iqa train --config {v.training_config}" if v.training_config else "ipad-iqa train"
        raise WeightsError(
            f"{v.name}: no trained head weights yet (weights: null in registry.yaml). Use zero_shot=True, "
            f"pass head_weights='/path/to/head.safetensors', or train one with `{cmd}`.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        clip = create_clip(v.clip_model, clip_source, family=v.clip_pretrained)
        # a tower built at random is ours to train: its token table keeps only the prompts' words
        vocabulary = prompt_vocabulary() if clip_source is None else None
        model = IPADCLIP(clip, v.clip_model, cfg, v.mean, v.std, text_vocabulary=vocabulary)
    if not cfg.zero_shot and not random_init and (head_weights is not None or v.weights is not None):
        path = resolve_weights(v.name, v.weights, head_weights)
        try:
            load_into(model, path, HEAD_PREFIXES)
        except WeightsMismatchError as err:
            raise WeightsMismatchError(f"{err}{_arch_hint(path, cfg, v.name)}") from None
        model.thresholds = Thresholds.from_metadata(read_metadata(path))
    return model.to(device).eval()


def _arch_hint(path: str | os.PathLike, cfg: IPADArchConfig, name: str) -> str:
    """What to pass when weights that do not fit were trained with other arch options (``ipad-iqa train --set
    arch.K=V`` records them): the options that differ, as the metric name that builds their model."""
    try:
        trained = dict(read_metadata(path).get("config", {}).get("arch", {}))
    except (AttributeError, TypeError, ValueError):
        return ""  # no readable training record: the error above stands alone
    unknown = unknown_keys(IPADArchConfig, trained)
    if unknown:
        return f"; it was trained with arch options this version does not have: {unknown}"
    try:  # the recorded values as the config declares them (JSON lists are its tuples)
        typed = typed_fields(IPADArchConfig, trained, "recorded arch option(s)")
    except ValueError:
        return ""
    differ = [k for k, val in typed.items() if getattr(cfg, k) != val]
    if not differ:
        return ""
    options = ",".join(f"{k}={str(trained[k]).lower() if isinstance(trained[k], bool) else trained[k]}"
                       for k in differ)
    return f"; it was trained with other arch options: create it as '{name}[{options}]'"
