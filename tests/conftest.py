"""Shared fixtures. Tests never touch the network: downloads are switched off for the whole session."""

from __future__ import annotations

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
