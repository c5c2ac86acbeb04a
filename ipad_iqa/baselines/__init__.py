"""Baselines behind one interface, built by name: the catalogue of evaluation methods.

``METHODS`` maps a method name to how it is built (a factory ``(DetectorConfig) -> Detector``), what it is,
and what it needs besides the installed package. Trained baselines and the IPAD-CLIP training ablations
(``trained.TRAINED_METHODS``) register the same way and read ``DetectorConfig.checkpoint``. Names starting with
``ipad_clip`` are not listed: they are resolved through pyiqa, so every variant the plugin registers is
available without an entry here (``method_catalogue`` adds those users can use).

A name may carry inference-time model options, ``NAME[key=value,...]`` (the grammar of ``ipad_iqa.methods``):
the method is built with those arch overrides (only ``ipad_clip*`` and trained methods take them). The harness
looks a checkpoint up by the full name, then by ``NAME``, so one trained file serves all its bracketed
variants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import cache, partial
from pathlib import Path
from typing import NamedTuple

from ipad_iqa.baselines import (
    bloom,
    edge_autocorr,
    handcrafted,
    pyiqa_global,
    pyiqa_ipad,
    spectral,
    trained,
    winclip,
)
from ipad_iqa.baselines.base import Detector, DetectorConfig, output_from_maps, output_from_probs
from ipad_iqa.methods import IPAD_PREFIX, split_method
from ipad_iqa.registry import get_variant, load_registry

DetectorFactory = Callable[[DetectorConfig], Detector]

#: The method ``ipad-iqa evaluate`` compares every other one with when no ``--methods`` are named.
DEFAULT_METHOD = "ipad_clip"


class Method(NamedTuple):
    """An evaluation method: how it is built, what it is, and what it needs besides the installed package."""

    build: DetectorFactory
    summary: str
    needs: str | None = None  # None: runs as installed; else the file to give it (evaluate --checkpoint NAME=FILE)


def _trained(name: str) -> Method:
    spec = trained.TRAINED_METHODS[name]
    return Method(trained.factory(name), f"{spec.summary} (trained)",
                  f"its checkpoint: --checkpoint {name}=FILE, from `ipad-iqa train --config {spec.recipe}`")


def _winclip(name: str) -> Method:
    variant = get_variant(winclip.WINCLIP_VARIANTS[name])
    needs = None if variant.weights else (f"{variant.clip_model} CLIP weights: --checkpoint {name}=FILE (or a "
                                          "download)")
    return Method(winclip.factory(name), f"WinCLIP-style zero-shot windows on the CLIP towers of {variant.name}",
                  needs)


METHODS: dict[str, Method] = {
    "spectral": Method(spectral.build, "moire: isolated spectral peaks in local windows (training-free)"),
    "bloom": Method(bloom.build, "lens flare: bright sources and the veiling glare around them (training-free)"),
    "edge_autocorr": Method(edge_autocorr.build, "ghosting: double contours in the gradients' autocorrelation "
                            "(training-free)"),
    "handcrafted": Method(handcrafted.build, "spectral, bloom and edge_autocorr as one three-class method"),
    **{name: Method(pyiqa_global.factory(name), summary) for name, summary in pyiqa_global.GLOBAL_METRICS.items()},
    **{name: _winclip(name) for name in winclip.WINCLIP_VARIANTS},
    **{name: _trained(name) for name in trained.TRAINED_METHODS},
}


def usable_variants() -> list[str]:
    """The ipad_clip* variants whose scores mean something (not the random test variant)."""
    return [name for name, v in load_registry().items() if not v.allow_random_init]


def method_catalogue() -> dict[str, Method]:
    """Every method users can evaluate: the usable ipad_clip* variants, then ``METHODS``."""
    variants = {}
    for name in usable_variants():
        v = get_variant(name)
        clip = f" (and the {v.clip_model} CLIP weights)" if v.clip_pretrained else ""
        needs = None if v.weights else f"trained head weights: --checkpoint {name}=FILE{clip}"
        variants[name] = Method(partial(pyiqa_ipad.build, name), v.summary, needs)
    return variants | METHODS


def standard_comparison(checkpoints: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """What ``ipad-iqa evaluate`` runs without ``--methods``: ``DEFAULT_METHOD`` and every method of ``METHODS``
    that runs as installed or whose file is in ``checkpoints``; the others, each with what it needs."""
    methods, skipped = [DEFAULT_METHOD], {}
    for name, method in METHODS.items():
        if method.needs is None or name in checkpoints:
            methods.append(name)
        else:
            skipped[name] = f"needs {method.needs}"
    return tuple(methods), skipped

def build_detector(name: str, config: DetectorConfig | None = None) -> Detector:
    """Build a method by name; ``ipad_clip*`` goes through pyiqa, everything else through ``METHODS``."""
    config = config or DetectorConfig()
    base, options = split_method(name)
    if options:
        if not (base.startswith(IPAD_PREFIX) or base in trained.TRAINED_METHODS):
            raise ValueError(f"{base} takes no model options (only {IPAD_PREFIX}* and trained methods do)")
        config = DetectorConfig(config.device, config.checkpoint, {**config.arch, **options})
    if base.startswith(IPAD_PREFIX):
        return pyiqa_ipad.build(base, config)
    if base not in METHODS:
        raise KeyError(f"unknown method {base!r}; known: {', '.join(sorted(METHODS))}, {IPAD_PREFIX}* "
                       "(ipad-iqa list)")
    return METHODS[base].build(config)


def method_fingerprint(name: str, config: DetectorConfig | None = None) -> str:
    """What a method's predictions depend on besides its name: the sha256 of its weights, found without
    building the model. A prediction cache made under another fingerprint is stale."""
    from ipad_iqa.weights import WeightsError, sha256_file

    config = config or DetectorConfig()
    base, options = split_method(name)
    ipad = base.startswith(IPAD_PREFIX)
    checkpoint = config.checkpoint or (options.get("head_weights") if ipad else None)
    # ipad_clip* names are variants; winclip* names run on a variant's CLIP towers: its weights decide.
    variant_name = base if ipad else winclip.WINCLIP_VARIANTS.get(base)
    variant = get_variant(variant_name) if variant_name else None
    parts: list[str] = []
    if checkpoint:
        path = Path(str(checkpoint))
        if not path.is_file():
            raise WeightsError(f"checkpoint of {name!r} not found: {path}")
        parts.append(f"checkpoint sha256 {sha256_file(path)}")
    elif variant is not None and variant.weights:
        parts.append(f"registry weights sha256 {variant.weights.sha256}")
    # a CLIP checkpoint named in the method decides too; the registry's CLIP tag only when nothing else does
    clip = str(options["clip_weights"]) if ipad and "clip_weights" in options else (
        variant.clip_pretrained if variant is not None and not parts else None)
    if clip:
        parts.append(f"CLIP weights sha256 {sha256_file(Path(clip))}" if Path(clip).is_file()
                     else f"CLIP weights {clip!r}")
    if not parts:
        parts.append("training-free" if variant is None else "no trained weights (random init)")
    if ipad or base in trained.TRAINED_METHODS:  # an upgrade that changes how maps are made changes the
        parts.append(f"inference code {ipad_inference_code_sha256()[:16]}")  # predictions, not the weights
    return ", ".join(parts)


@cache
def ipad_inference_code_sha256() -> str:
    """sha256 over the sources that turn trained weights into predictions: every file of the model package
    (code, prompt vocabularies, tower configs), the trained networks and their loading, the pyiqa wrapper's
    output handling, and the registry."""
    from ipad_iqa.registry import registry_path

    package = Path(__file__).resolve().parents[1]
    sources = [p for p in sorted((package / "model").rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    sources += [package / "baselines" / f for f in ("networks.py", "trained.py", "pyiqa_ipad.py")]
    named = {p.relative_to(package).as_posix(): p for p in [*sources, package / "output.py"]}
    named["registry.yaml"] = registry_path()
    digest = hashlib.sha256()
    for name, path in named.items():
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


__all__ = ["DEFAULT_METHOD", "METHODS", "Detector", "DetectorConfig", "DetectorFactory", "Method",
           "build_detector", "ipad_inference_code_sha256", "method_catalogue", "method_fingerprint",
           "output_from_maps", "output_from_probs", "standard_comparison", "usable_variants"]
