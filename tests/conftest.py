"""Shared fixtures. Tests never touch the network: downloads are switched off for the whole session."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("IPAD_IQA_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets an empty weights cache so nothing leaks from the user's machine or other tests."""
    monkeypatch.setenv("IPAD_IQA_CACHE", str(tmp_path_factory.mktemp("ipad_cache")))
