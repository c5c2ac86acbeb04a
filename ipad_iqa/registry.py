"""registry.yaml -> frozen dataclasses: the one description of every ipad_clip* variant.

The file lives at the repository top level and ships inside the wheel as ``ipad_iqa/registry.yaml``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ipad_iqa.model.config import IPADArchConfig
from ipad_iqa.output import ARTIFACT_CLASSES
from ipad_iqa.weights import WeightsSpec

_PACKAGE_DIR = Path(__file__).resolve().parent
# Wheel: packaged copy beside this module; source checkout / editable install: the top-level file.
REGISTRY_CANDIDATES = (_PACKAGE_DIR / "registry.yaml", _PACKAGE_DIR.parent / "registry.yaml")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Set (to 1) to also expose the test variants (``allow_random_init``: random weights, meaningless scores) to
#: pyiqa and :func:`list_variants`; tests/conftest.py sets it, users never need it.
TEST_VARIANTS_ENV = "IPAD_IQA_TEST_VARIANTS"


class RegistryError(ValueError):
    """registry.yaml is malformed or names an unknown variant."""


@dataclass(frozen=True)
class PyiqaSpec:
    metric_mode: str
    lower_better: bool
    score_range: tuple[float, float]

    @property
    def score_range_str(self) -> str:
        """pyiqa stores the range as a string such as ``"0, 1"``."""
        return ", ".join(f"{v:g}" for v in self.score_range)


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    classes: tuple[str, ...]
    clip_model: str
    clip_pretrained: str | None
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    arch: IPADArchConfig
    weights: WeightsSpec | None
    allow_random_init: bool
    licence: str
    pyiqa: PyiqaSpec
    training_config: str | None = None

    @property
    def summary(self) -> str:
        """The first sentence of the description: its one line in listings."""
        return self.description.split(". ")[0].rstrip(".")


_TOP_KEYS = {"schema_version", "variants"}
_VARIANT_KEYS = {"description", "classes", "backbone", "preprocess", "arch", "weights", "allow_random_init",
                 "licence", "pyiqa", "training_config"}
_REQUIRED = _VARIANT_KEYS - {"training_config"}


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise RegistryError(f"registry.yaml: {where}: {msg}")


def _parse_weights(where: str, raw: Any) -> WeightsSpec | None:
    if raw is None:
        return None
    _need(isinstance(raw, dict), where, "weights must be a mapping or null")
    extra = set(raw) - {"file", "url", "sha256"}
    _need(not extra, where, f"unknown weights keys {sorted(extra)}")
    _need(bool(raw.get("file") or raw.get("url")), where, "weights need a file or a url")
    _need(isinstance(raw.get("sha256"), str) and bool(_SHA256.match(raw["sha256"])), where,
          "weights.sha256 must be 64 lowercase hex digits")
    return WeightsSpec(sha256=raw["sha256"], file=raw.get("file"), url=raw.get("url"))


def _parse_variant(name: str, raw: Any) -> Variant:
    where = f"variant {name!r}"
    _need(isinstance(raw, dict), where, "must be a mapping")
    missing, extra = _REQUIRED - set(raw), set(raw) - _VARIANT_KEYS
    _need(not missing, where, f"missing keys {sorted(missing)}")
    _need(not extra, where, f"unknown keys {sorted(extra)}")
    _need(tuple(raw["classes"]) == ARTIFACT_CLASSES, where, f"classes must be {list(ARTIFACT_CLASSES)}")
    backbone = raw["backbone"]
    _need(isinstance(backbone, dict) and set(backbone) == {"model", "pretrained"}, where,
          "backbone needs exactly {model, pretrained}")
    pre = raw["preprocess"]
    _need(isinstance(pre, dict) and set(pre) == {"mean", "std"} and len(pre["mean"]) == 3 and len(pre["std"]) == 3,
          where, "preprocess needs mean and std of 3 values")
    _need(all(s > 0 for s in pre["std"]), where, "preprocess.std must be positive")
    pq = raw["pyiqa"]
    _need(isinstance(pq, dict) and set(pq) == {"metric_mode", "lower_better", "score_range"}, where,
          "pyiqa needs exactly {metric_mode, lower_better, score_range}")
    _need(pq["metric_mode"] in ("NR", "FR"), where, "pyiqa.metric_mode must be NR or FR")
    _need(isinstance(pq["lower_better"], bool), where, "pyiqa.lower_better must be a boolean")
    _need(len(pq["score_range"]) == 2 and pq["score_range"][0] < pq["score_range"][1], where,
          "pyiqa.score_range must be [low, high]")
    _need(isinstance(raw["allow_random_init"], bool), where, "allow_random_init must be a boolean")
    try:
        arch = IPADArchConfig.from_dict(raw["arch"] or {})
    except (TypeError, ValueError) as err:
        raise RegistryError(f"registry.yaml: {where}: arch: {err}") from err
    return Variant(
        name=name, description=" ".join(str(raw["description"]).split()), classes=tuple(raw["classes"]),
        clip_model=str(backbone["model"]), clip_pretrained=backbone["pretrained"],
        mean=tuple(float(v) for v in pre["mean"]), std=tuple(float(v) for v in pre["std"]), arch=arch,
        weights=_parse_weights(where, raw["weights"]), allow_random_init=raw["allow_random_init"],
        licence=str(raw["licence"]),
        pyiqa=PyiqaSpec(pq["metric_mode"], pq["lower_better"], (float(pq["score_range"][0]),
                                                                float(pq["score_range"][1]))),
        training_config=raw.get("training_config"),
    )


def parse_registry(data: Any) -> dict[str, Variant]:
    """Validate a loaded registry document; raises RegistryError naming the first problem."""
    _need(isinstance(data, dict), "top level", "must be a mapping")
    extra = set(data) - _TOP_KEYS
    _need(not extra, "top level", f"unknown keys {sorted(extra)}")
    _need(data.get("schema_version") == 1, "top level", "schema_version must be 1")
    variants = data.get("variants")
    _need(isinstance(variants, dict) and bool(variants), "top level", "variants must be a non-empty mapping")
    for name in variants:
        _need(bool(re.fullmatch(r"ipad_clip[a-z0-9_]*", name)), f"variant {name!r}", "names start with ipad_clip")
    return {name: _parse_variant(name, raw) for name, raw in variants.items()}


def registry_path() -> Path:
    for path in REGISTRY_CANDIDATES:
        if path.is_file():
            return path
    raise RegistryError(f"registry.yaml not found in {[str(p) for p in REGISTRY_CANDIDATES]}")


@cache
def load_registry() -> dict[str, Variant]:
    return parse_registry(yaml.safe_load(registry_path().read_text()))


def show_test_variants() -> bool:
    return os.environ.get(TEST_VARIANTS_ENV, "").lower() in {"1", "true", "yes", "on"}


def user_variants() -> dict[str, Variant]:
    """The variants users see (in pyiqa and :func:`list_variants`): the test variants only when
    ``TEST_VARIANTS_ENV`` asks for them. All stay reachable by name through :func:`get_variant`."""
    show_tests = show_test_variants()
    return {name: v for name, v in load_registry().items() if show_tests or not v.allow_random_init}


def clip_variants() -> list[str]:
    """The user variants built on a pretrained CLIP backbone: those that take ``clip_weights`` and ``zero_shot``."""
    return [name for name, v in user_variants().items() if v.clip_pretrained is not None and not v.arch.conv_stem]


def weights_status(variant: Variant) -> str:
    """Where a variant's trained weights come from, in a few words (the second column of list_variants)."""
    if variant.weights is not None:
        return "shipped in the package" if variant.weights.file else "downloaded on first use"
    if variant.allow_random_init:
        return "random (tests only; scores mean nothing)"
    return "none shipped: zero_shot=True or head_weights=FILE"


def list_variants() -> dict[str, str]:
    """Variant name -> where its weights come from, for every variant users see; iterating it gives the names
    (as ``pyiqa.list_models`` does), printing it says which variants work out of the box."""
    return {name: weights_status(v) for name, v in user_variants().items()}


def get_variant(name: str) -> Variant:
    variants = load_registry()
    if name not in variants:
        raise RegistryError(f"unknown variant {name!r}; available: {', '.join(variants)}")
    return variants[name]
