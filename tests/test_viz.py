"""Overlay rendering: size, mode, colours where the maps are hot, and the render-size bound."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ipad_iqa.viz import DEFAULT_STYLE, MAX_RENDER_SIDE, overlay


def _inputs(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.full((3, height, width), 0.5)
    maps = torch.zeros(3, height, width)
    maps[0, : height // 2, : width // 2] = 1.0  # ghosting in the top-left quarter
    return image, maps


def test_overlay_size_mode_and_colour() -> None:
    image, maps = _inputs(120, 200)
    picture = overlay(image, maps, alpha=1.0, score=0.3, class_probs=torch.tensor([0.9, 0.2, 0.1]))
    assert picture.mode == "RGB"
    assert picture.width == 200 and picture.height > 120  # legend band below the image
    pixels = np.asarray(picture)
    assert tuple(pixels[10, 10]) == DEFAULT_STYLE.colors[0]  # hot map at alpha 1 -> the class colour
    assert tuple(pixels[100, 150]) == (128, 128, 128)  # cold map -> the image untouched


def test_alpha_scales_opacity() -> None:
    image, maps = _inputs(64, 64)
    half = np.asarray(overlay(image, maps * 0.5, alpha=1.0)).astype(int)
    red = np.array(DEFAULT_STYLE.colors[0])
    assert np.all(np.abs(half[5, 5] - (red + 127.5) / 2) <= 1)


def test_panel_adds_a_strip_of_maps() -> None:
    image, maps = _inputs(90, 90)
    plain = overlay(image, maps)
    with_panel = overlay(image, maps, panel=True)
    assert with_panel.width == plain.width
    assert with_panel.height == plain.height + 30  # three 30x30 tiles side by side
    strip = np.asarray(with_panel)[90:120]
    assert tuple(strip[5, 5]) == DEFAULT_STYLE.colors[0] and tuple(strip[5, 35]) == (0, 0, 0)


def test_large_input_is_rendered_downscaled() -> None:
    image, maps = _inputs(1800, 3600)
    picture = overlay(image.numpy(), maps.numpy())
    assert picture.width == MAX_RENDER_SIDE
    assert picture.height > 800


def test_tiny_image_is_widened_for_the_legend() -> None:
    image, maps = _inputs(32, 32)
    picture = overlay(image, maps, class_probs=[0.1, 0.2, 0.3])
    assert picture.width > 32  # legend text must fit


def test_mismatched_classes_rejected() -> None:
    image, maps = _inputs(32, 32)
    with pytest.raises(ValueError, match="maps has 3 channels but 2 classes"):
        overlay(image, maps, classes=("a", "b"))
