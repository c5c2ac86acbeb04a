"""Fixtures of the CLI tests: a folder of good and bad image files, and a fake scorer standing in for the model."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch
from PIL import Image

from ipad_iqa.cli import score
from ipad_iqa.output import IPADOutput


class FakeScorer:
    """Per-image deterministic stand-in for IPAD-CLIP that records the batch shapes it was called with.

    score = 1 - mean intensity, class probabilities = per-channel means, maps = the image itself.
    """

    def __init__(self) -> None:
        self.batch_shapes: list[tuple[int, ...]] = []

    def __call__(self, x: torch.Tensor) -> IPADOutput:
        self.batch_shapes.append(tuple(x.shape))
        probs = x.mean(dim=(2, 3))
        return IPADOutput(score=1 - probs.mean(dim=1, keepdim=True), class_probs=probs, maps=x.clone())


@pytest.fixture
def fake_scorer() -> FakeScorer:
    return FakeScorer()


@pytest.fixture
def parse() -> Callable[[Sequence[str]], argparse.Namespace]:
    """Parse ``ipad-iqa score`` arguments with the subcommand's own parser, as cli.main builds it."""

    def _parse(argv: Sequence[str]) -> argparse.Namespace:
        parser = argparse.ArgumentParser(prog="ipad-iqa score")
        score.add_arguments(parser)
        return parser.parse_args(list(argv))

    return _parse


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """good/: four readable images (two share a size, two share a basename) and three unreadable files."""
    root = tmp_path / "good"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(root / "a" / "x.png")
    Image.new("RGB", (64, 48), (10, 200, 10)).save(root / "b" / "x.png")
    Image.new("RGB", (40, 40), (10, 10, 200)).save(root / "c.jpg", quality=95)
    Image.new("L", (64, 48), 128).save(root / "d.png")
    (root / "empty.png").touch()
    (root / "text.png").write_text("not an image")
    Image.new("RGB", (10, 10)).save(root / "tiny.png")
    return root
