"""Small helpers shared across layers (configuration parsing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any


def check_keys(cls: type, data: Mapping[str, Any], what: str) -> None:
    """Refuse keys that are not fields of the dataclass ``cls``: a misspelt option must fail, not vanish."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; valid: {sorted(known)}")
