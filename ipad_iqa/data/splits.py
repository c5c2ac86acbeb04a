"""Scene-level train/val/test assignment shared by every dataset and the benchmark writer."""

from __future__ import annotations

import hashlib

SPLITS: tuple[str, ...] = ("train", "val", "test")


def split_of(source_name: str, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> str:
    """Split of a clean source photo, from a hash of its name alone.

    Every sample synthesized from one photo lands in one split, and the answer does not depend on which other
    files exist, so adding photos never moves old ones between splits. ``source_name`` is the path relative to
    the pool root with ``/`` separators (``"CBSD68/101085.jpg"``, ``"skimage/astronaut"``).
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    digest = hashlib.sha256(source_name.replace("\\", "/").encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"
