"""The method-name grammar of ``ipad-iqa evaluate --methods`` and ``ipad-iqa score --metric``: read by the CLI
and by the evaluator alike.

A method list is comma-separated; a name may carry inference-time model options in brackets,
``NAME[key=value,...]`` with YAML values (lists included), e.g. ``ipad_clip[cls_weight=1.0]`` or
``ipad_ref[tiling=false]``. Names starting with ``IPAD_PREFIX`` are the pyiqa-registered IPAD-CLIP variants;
theirs also take the weights options ``clip_weights=FILE`` and ``head_weights=FILE`` (see ``ipad_options``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

IPAD_PREFIX = "ipad_clip"
#: Options of an ipad_clip* name that choose weights (a file, or an open_clip tag for ``clip_weights``) rather
#: than arch options: the keywords of the same names of ``pyiqa.create_metric`` and ``ipad_iqa.create_model``.
WEIGHTS_OPTIONS: tuple[str, ...] = ("clip_weights", "head_weights")


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """``text`` split at the ``sep`` characters that are outside any ``[...]``, so that a method list such as
    ``ipad_clip[global_weight=[0, 0.75, 0], cls_weight=1],spectral`` keeps its options and their lists whole.
    Brackets must balance."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ']' at position {i} of {text!r}")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"unclosed '[' in {text!r}")
    return [*parts, text[start:]]


def split_method(name: str) -> tuple[str, dict[str, Any]]:
    """``"ipad_clip[cls_weight=1.0,global_weight=[0,0.5,0]]"`` -> ``("ipad_clip", {"cls_weight": 1.0,
    "global_weight": [0, 0.5, 0]})``: values are YAML, lists included."""
    if "[" not in name and "]" not in name:
        return name, {}
    base, _, rest = name.partition("[")
    try:
        if "]" in base or not base.strip() or not rest.endswith("]"):
            raise ValueError(name)
        items = split_top_level(rest[:-1])
    except ValueError:
        raise ValueError(f"bad method name {name!r}; expected NAME or NAME[key=value,...]") from None
    options = {}
    for item in filter(None, (i.strip() for i in items)):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{name!r}: option {item!r} is not key=value")
        options[key.strip()] = yaml.safe_load(raw)
    return base.strip(), options


def parse_methods(text: str) -> tuple[str, ...]:
    """``"ipad_clip[cls_weight=1.0],spectral"`` -> its method names, each checked against the grammar."""
    methods = tuple(m.strip() for m in split_top_level(text) if m.strip())
    if not methods:
        raise ValueError(f"no method named in {text!r}")
    for method in methods:
        split_method(method)
    return methods


def ipad_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``NAME[...]`` options of an ipad_clip* name as keywords of ``pyiqa.create_metric``: the weights
    options as they are, every other (arch options, ``zero_shot``) under ``arch``, where a misspelt one is
    refused."""
    kwargs: dict[str, Any] = {}
    for key in WEIGHTS_OPTIONS:
        if key in options:
            value = options[key]
            if value is None or isinstance(value, bool) or value == "":
                raise ValueError(f"{key} needs a file (or an open_clip tag), got {value!r}")
            kwargs[key] = str(value)
    arch = {key: value for key, value in options.items() if key not in WEIGHTS_OPTIONS}
    return {**kwargs, "arch": arch} if arch else kwargs
