"""A tiny clean-photo pool and tiny training configs shared by the recipe tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipad_iqa.data.splits import split_of
from ipad_iqa.train.config import TrainConfig, config_from_dict

# Tiny model options per method: the real builders and loop, at a size that trains in a second.
TINY_ARCH: dict[str, dict] = {
    "ipad": {"freeze_backbone": False},
    "aprilgan": {"freeze_backbone": False},
    "anomalyclip": {"freeze_backbone": False},
    "manip": {"widths": [8, 16, 32], "depths": [1, 1, 1], "decoder_width": 8},
    "segnet": {"widths": [8, 16, 32], "depths": [1, 1, 1], "decoder_width": 8},
}


@pytest.fixture(scope="session")
def clean_pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve smooth random photos whose names put some in the val split and most in train."""
    root = tmp_path_factory.mktemp("clean")
    rng = np.random.default_rng(0)
    names = [f"photo_{i:03d}.png" for i in range(400)]
    val = [n for n in names if split_of(n) == "val"][:3]
    train = [n for n in names if split_of(n) == "train"][:9]
    for name in val + train:
        coarse = rng.uniform(0, 255, (6, 8, 3)).astype(np.uint8)
        Image.fromarray(coarse).resize((128, 96), Image.BICUBIC).save(root / name)
    return root


def _tiny_config(method: str, clean_dir: Path, out_dir: Path, **extra) -> TrainConfig:
    return config_from_dict({
        "method": method, "variant": "ipad_clip_test", "arch": TINY_ARCH[method],
        "data": {"clean_dir": str(clean_dir), "canvas_sizes": [96, 128], "crop_size": 64, "num_workers": 0,
                 "val_samples": 2},
        "optim": {"batch_size": 2, "steps": 2, "warmup_steps": 1},
        "val_every": 2, "log_every": 1, "save_dtype": "float32", "out_dir": str(out_dir), **extra,
    })


@pytest.fixture(scope="session")
def tiny_arch() -> dict[str, dict]:
    return TINY_ARCH


@pytest.fixture(scope="session")
def tiny_config():
    """``tiny_config(method, clean_dir, out_dir, **top_level_overrides) -> TrainConfig``."""
    return _tiny_config
