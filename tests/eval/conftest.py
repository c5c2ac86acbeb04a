"""Fixtures of the evaluation tests: a tiny benchmark folder and a tiny folder of "real" photos, both written
from synthetic scenes, so that ``ipad-iqa evaluate`` runs end to end in seconds."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SIZE = 64


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    base = 0.4 + 0.1 * np.sin(xx / 9 + seed) * np.cos(yy / 11) + 0.02 * rng.standard_normal((SIZE, SIZE))
    return np.repeat(base[..., None], 3, axis=2)


def _u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


@pytest.fixture()
def benchmark(tmp_path: Path) -> Path:
    """2 clean + 1 image per class in split test, 1 clean in train; the flare source has no clean image."""
    root = tmp_path / "bench"
    yy, xx = np.mgrid[:SIZE, :SIZE]
    rows = []
    box = np.zeros((SIZE, SIZE), bool)
    box[16:48, 16:48] = True

    def add(name: str, label: str, split: str, source: str, image: np.ndarray, mask: np.ndarray | None,
            params: str = "{}") -> None:
        img = f"images/{split}/{label}/{name}.png"
        _save(root / img, _u8(image))
        m = ""
        if mask is not None:
            m = f"masks/{split}/{label}/{name}.png"
            _save(root / m, mask.astype(np.uint8) * 255)
        rows.append({"image": img, "mask": m, "label": label, "split": split, "source": source,
                     "severity": "0.5", "params": params})

    add("c0", "clean", "test", "a", _scene(0), None)
    add("c1", "clean", "test", "c", _scene(1), None)
    add("c2", "clean", "train", "z", _scene(2), None)
    ghost = _scene(0)
    ghost[box] = 0.6 * ghost[box] + 0.4 * np.roll(_scene(0), 6, axis=1)[box]
    add("g0", "ghosting", "test", "a", ghost, box, '{"mode": "motion"}')
    flare = _scene(3)
    r = np.hypot(xx - 32, yy - 32)
    glow = 0.7 * np.exp(-r / 8)[..., None]
    flare = flare * (1 - glow) + glow
    flare[r < 4] = 1.0
    add("f0", "flare", "test", "b", flare, r < 16, '{"variant": "night"}')
    moire = _scene(1)
    moire[box] += 0.12 * np.sin(2 * math.pi * (0.2 * xx + 0.07 * yy))[box][:, None]
    add("m0", "moire", "test", "c", moire, box)
    with (root / "manifest.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


@pytest.fixture()
def real_dir(tmp_path: Path) -> Path:
    root = tmp_path / "real"
    yy, xx = np.mgrid[:SIZE, :SIZE]
    grating = _scene(5) + 0.12 * np.sin(2 * math.pi * 0.21 * xx)[..., None]
    _save(root / "moire/pairs/res_1_GT.jpg", _u8(_scene(5)))
    _save(root / "moire/pairs/res_1_Moire.jpg", _u8(grating))
    _save(root / "moire/set/blurresize/0001.png", _u8(_scene(6)))
    _save(root / "moire/set/moireresize/0001.png", _u8(_scene(6) + 0.12 * np.sin(2 * math.pi * 0.23 * yy)[..., None]))
    _save(root / "flare/src/input1.png", _u8(_scene(7)))
    return root
