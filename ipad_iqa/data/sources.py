"""Where clean photos come from: a directory pool, or the licence-clean scikit-image samples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ipad_iqa.data.splits import split_of

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

# scikit-image samples read from the installed package at run time (never copied). Licences as stated in each
# loader's docstring in skimage.data (scikit-image 0.26).
SKIMAGE_SAMPLES: dict[str, str] = {
    "astronaut": "public domain (NASA)",
    "camera": "CC0 (Lav Varshney)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "coffee": "CC0 (Rachel Michetti)",
    "rocket": "public domain (SpaceX)",
    "hubble_deep_field": "public domain (NASA)",
    "immunohistochemistry": "no known copyright restrictions",
    "retina": "CC0 1.0 (Häggström, Wikimedia)",
    "coins": "no known copyright restrictions",
    "clock": "public domain (Stefan van der Walt)",
    "horse": "CC0 (Andreas Preuss)",
    "brick": "CC0 (CC0Textures)",
    "grass": "CC0 (CC0Textures)",
    "gravel": "CC0 (CC0Textures)",
}
SKIMAGE_PREFIX = "skimage/"


def list_clean_pool(root: str | Path, split: str | None = None) -> list[Path]:
    """Image files under ``root`` (recursive, sorted), optionally only those of one scene ``split``."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if split is not None:
        files = [p for p in files if split_of(source_name(p, root)) == split]
    return files


def source_name(path: str | Path, root: str | Path) -> str:
    """Name a source by its path relative to the pool root (POSIX separators): the key ``split_of`` hashes."""
    return Path(path).relative_to(root).as_posix()


def skimage_loader(name: str) -> Callable[[], np.ndarray]:
    """Loader of a bundled scikit-image sample (imported lazily; the picture is never copied)."""
    def load() -> np.ndarray:
        import skimage.data

        return np.asarray(getattr(skimage.data, name)())
    return load
