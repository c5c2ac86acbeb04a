"""Small helpers shared across layers (configuration parsing)."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Union, get_args, get_origin, get_type_hints


def unknown_keys(cls: type, data: Mapping[str, Any]) -> list[str]:
    """The keys of ``data`` that are not fields of the dataclass ``cls``, sorted."""
    return sorted(set(data) - {f.name for f in fields(cls)})


def check_keys(cls: type, data: Mapping[str, Any], what: str) -> None:
    """Refuse keys that are not fields of the dataclass ``cls``: a misspelt option must fail, not vanish."""
    unknown = unknown_keys(cls, data)
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; valid: {sorted(f.name for f in fields(cls))}")


def typed_fields(cls: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``data`` checked against the fields of ``cls`` and converted to their annotated types.

    Why: options arrive as YAML (config files, ``--set key=value``, ``NAME[key=value]``), where ``5e-3`` reads as
    a string and ``[1, 2]`` as a list; they must reach the dataclass as the number or tuple it declares, and a
    value of the wrong kind must fail here, naming the option, not deep inside training.
    """
    check_keys(cls, data, what)
    hints = get_type_hints(cls)
    return {key: _coerce(value, hints[key], f"{what} {key!r}") for key, value in data.items()}


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ValueError:
                continue
        raise ValueError(f"{where}: expected {_type_name(hint)}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list ({_type_name(hint)}), got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise ValueError(f"{where}: expected {len(args)} values, got {len(value)}: {value!r}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args, strict=True))
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint in (int, bool, str):
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
            return value
    else:  # Any, dict[...] and other containers pass through: their owner checks them
        return value
    raise ValueError(f"{where}: expected {_type_name(hint)}, got {value!r}")


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)
