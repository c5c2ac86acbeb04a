"""Overlay rendering: flagged regions outlined and tinted on the photo, smooth maps, perceptually uniform class
colormaps with colour bars, per-class levels, and the render-size bound."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ipad_iqa.viz import (
    COLORMAP_LIGHTNESS,
    DEFAULT_STYLE,
    MAX_RENDER_SIDE,
    class_colormap,
    display_maps,
    overlay,
    srgb_to_lab,
)

GREY = (128, 128, 128)


def _inputs(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.full((3, height, width), 0.5)
    maps = torch.zeros(3, height, width)
    maps[0, : height // 2, : width // 2] = 1.0  # ghosting in the top-left quarter
    return image, maps


def _photo_box(picture: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the untouched grey photo in a rendered overlay: the rows and columns
    with many grey pixels (anti-aliased text has a few)."""
    grey = np.all(picture == GREY, axis=-1)
    rows, cols = np.nonzero(grey.sum(1) > 20)[0], np.nonzero(grey.sum(0) > 20)[0]
    return rows.min(), cols.min(), rows.max() + 1, cols.max() + 1


def test_flagged_region_is_outlined_and_tinted_the_rest_untouched() -> None:
    image, maps = _inputs(240, 400)
    alpha = 0.3
    picture = np.asarray(overlay(image, maps, alpha=alpha, score=0.3, class_probs=torch.tensor([0.9, 0.2, 0.1])))
    top, left, bottom, right = _photo_box(picture)
    assert (bottom - top, right - left) == (240, 400)  # the photo at its own size, nothing cropped
    red = np.array(DEFAULT_STYLE.colors[0])
    inside = picture[top + 60, left + 100].astype(float)
    assert np.abs(inside - ((1 - alpha) * 127.5 + alpha * red)).max() <= 1  # tinted at opacity alpha
    assert tuple(picture[top + 200, left + 300]) == GREY  # far from the region: the photo as it is
    # the region's edge (x = 200 in the photo) carries the outline in the class colour
    edge = picture[top + 60, left + 190: left + 210]
    assert any(tuple(px) == tuple(red) for px in edge)
    # the outline follows the region: none on the right half's rows below it
    assert not np.any(np.all(picture[top + 180: bottom, left: right] == red, axis=-1))


def test_levels_decide_what_is_outlined_per_class() -> None:
    image = torch.full((3, 200, 200), 0.5)
    maps = torch.zeros(3, 200, 200)
    maps[1, 50:150, 50:150] = 0.3  # a weak flare
    amber = tuple(DEFAULT_STYLE.colors[1])

    def has_amber(levels) -> bool:
        return bool(np.any(np.all(np.asarray(overlay(image, maps, levels=levels))[:220] == amber, axis=-1)))

    assert not has_amber(0.5)
    assert has_amber((0.5, 0.2, 0.5))
    for bad in ((0.5, 0.5), 0.0, (0.5, 1.5, 0.5)):
        with pytest.raises(ValueError, match="levels"):
            overlay(image, maps, levels=bad)


def test_display_maps_remove_tile_seams() -> None:
    """A map made of 32-px blocks (what a tiled model can give) has no visible steps once smoothed for display."""
    blocks = np.kron(np.indices((16, 16)).sum(0) % 2, np.ones((32, 32)))  # checkerboard of 32-px cells
    maps = np.stack([0.3 + 0.4 * blocks] * 3, axis=-1).astype(np.float32)
    smooth = display_maps(maps, DEFAULT_STYLE.smooth)
    jumps = max(np.abs(np.diff(smooth, axis=a)).max() for a in (0, 1))
    assert np.abs(np.diff(maps, axis=0)).max() == pytest.approx(0.4)
    assert jumps < 0.04  # a step of 0.4 spread over many pixels
    assert smooth.mean() == pytest.approx(maps.mean(), abs=0.01)  # smoothing moves no mass


@pytest.mark.parametrize("color", DEFAULT_STYLE.colors)
def test_class_colormaps_are_perceptually_uniform_in_the_class_hue(color: tuple[int, int, int]) -> None:
    lut = class_colormap(color)
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    lab = srgb_to_lab(lut[::25].astype(float) / 255)  # 11 entries: steps far above the 8-bit rounding
    assert np.all(np.diff(lab[:, 0]) < 0)  # lightness falls all the way: larger always looks "more"
    ends = srgb_to_lab(lut[[0, -1]].astype(float) / 255)[:, 0]
    assert ends == pytest.approx(COLORMAP_LIGHTNESS, abs=1)
    steps = np.linalg.norm(np.diff(lab, axis=0), axis=1)
    assert steps.std() / steps.mean() < 0.05  # equal steps of value, equal colour differences
    hue = np.degrees(np.arctan2(*srgb_to_lab(np.asarray(color) / 255)[[2, 1]]))
    mid = np.degrees(np.arctan2(lab[5, 2], lab[5, 1]))
    assert abs((mid - hue + 180) % 360 - 180) < 6  # the panel has the colour of the class's outline


def test_panels_show_the_maps_in_their_colormaps_with_colour_bars() -> None:
    image, maps = _inputs(240, 660)
    plain = np.asarray(overlay(image, maps))
    picture = np.asarray(overlay(image, maps, panel=True))
    assert picture.shape[1] == plain.shape[1] and picture.shape[0] > plain.shape[0] + 100
    strip = picture[plain.shape[0]:]
    for c, color in enumerate(DEFAULT_STYLE.colors):
        lut = class_colormap(color)
        # every class has a colour bar, whose dark end is the colormap's value 1
        assert np.any(np.all(strip == lut[-1], axis=-1)), f"no colour bar for class {c}"
    # the hot quarter of ghosting reaches the colormap's top; the empty maps stay at its bottom
    ghost = class_colormap(DEFAULT_STYLE.colors[0])
    assert np.sum(np.all(strip == ghost[-1], axis=-1)) > 2 * np.sum(np.all(strip == class_colormap(
        DEFAULT_STYLE.colors[1])[-1], axis=-1))


def test_large_input_is_rendered_downscaled_with_larger_text() -> None:
    image, maps = _inputs(1800, 3600)
    small = overlay(*_inputs(180, 360), score=0.5)
    picture = overlay(image.numpy(), maps.numpy(), score=0.5)
    assert picture.width == MAX_RENDER_SIDE
    top, _, bottom, _ = _photo_box(np.asarray(picture))
    assert bottom - top == 800
    small_top, *_ = _photo_box(np.asarray(small))
    assert top > small_top  # the header's text grew with the picture


def test_tiny_image_is_widened_for_the_legend() -> None:
    image, maps = _inputs(32, 32)
    picture = overlay(image, maps, class_probs=[0.1, 0.2, 0.3])
    assert picture.width > 32  # legend text must fit


def test_mismatched_classes_rejected() -> None:
    image, maps = _inputs(32, 32)
    with pytest.raises(ValueError, match="maps has 3 channels but 2 classes"):
        overlay(image, maps, classes=("a", "b"))


def test_score_may_be_a_one_element_tensor() -> None:
    """IPADOutput.score[i] is a tensor: passed as it is, it renders as the same number would."""
    image, maps = _inputs(64, 64)
    as_tensor = overlay(image, maps, score=torch.tensor([0.25]))
    assert np.array_equal(np.asarray(as_tensor), np.asarray(overlay(image, maps, score=0.25)))
    with pytest.raises(ValueError, match=r"score must be one number, got a tensor of shape \(2,\)"):
        overlay(image, maps, score=torch.tensor([0.25, 0.5]))
