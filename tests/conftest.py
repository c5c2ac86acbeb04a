"""Shared fixtures. Tests never touch the network: downloads are switched off for the whole session."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch

os.environ.setdefault("IPAD_IQA_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("IPAD_IQA_TEST_VARIANTS", "1")  # ipad_clip_test in pyiqa, here and in subprocesses
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets an empty weights cache so nothing leaks from the user's machine or other tests."""
    monkeypatch.setenv("IPAD_IQA_CACHE", str(tmp_path_factory.mktemp("ipad_cache")))


@pytest.fixture(scope="session")
def docs_script() -> Callable[[str], ModuleType]:
    """``docs_script(name)``: docs/scripts/<name>.py imported as a module (the scripts are not in the package)."""
    scripts = Path(__file__).resolve().parents[1] / "docs" / "scripts"

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, scripts / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def photo_pool(tmp_path_factory) -> Path:
    """Six scikit-image photos (160 px PNG) whose names all fall in the train split (split_of hashes the name)."""
    import skimage.data as sd
    from PIL import Image

    from ipad_iqa.data.splits import split_of

    root = tmp_path_factory.mktemp("pool")
    names = iter(f"p{i}.png" for i in range(1000) if split_of(f"p{i}.png") == "train")
    for img in (sd.astronaut(), sd.coffee(), sd.chelsea(), sd.rocket(), sd.immunohistochemistry(), sd.retina()):
        Image.fromarray(img).resize((160, 160)).save(root / next(names))
    return root


@pytest.fixture(scope="session")
def file_digests() -> Callable[[Path], dict[str, str]]:
    """``file_digests(folder)``: name -> sha256 of every file in it, to compare outputs byte for byte."""

    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    return digests
