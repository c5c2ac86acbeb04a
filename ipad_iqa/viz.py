"""Overlay rendering of per-class artifact maps, with PIL and numpy only (no plotting dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ipad_iqa.output import ARTIFACT_CLASSES

#: Longest side of the rendered image. Maps come at input resolution (up to hundreds of megapixels);
#: rendering is done on a copy downscaled to this bound so its cost and the PNG size stay bounded.
MAX_RENDER_SIDE: int = 1600


@dataclass(frozen=True)
class OverlayStyle:
    """Colours and layout of :func:`overlay`; the defaults are what the CLI writes."""

    #: One colour per class, in ``ARTIFACT_CLASSES`` order; red / amber / blue stay distinct for common
    #: colour-vision deficiencies and against most photo content.
    colors: tuple[tuple[int, int, int], ...] = ((230, 25, 75), (255, 170, 0), (0, 120, 220))
    font_size: int = 14
    padding: int = 6
    background: tuple[int, int, int] = (255, 255, 255)
    text_color: tuple[int, int, int] = (0, 0, 0)


DEFAULT_STYLE = OverlayStyle()


def _as_chw_array(x: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
    """(C, H, W) tensor or array -> float32 array, without copying when it already is one on the CPU."""
    array = x.detach().cpu().float().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float32)
    if array.ndim != 3:
        raise ValueError(f"{name} must have shape (C, H, W), got {array.shape}")
    return array


def render_size(height: int, width: int) -> tuple[int, int]:
    """(h, w) at which :func:`overlay` draws an image of ``height`` x ``width``: long side <= MAX_RENDER_SIDE."""
    scale = min(1.0, MAX_RENDER_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _resize_to_hwc(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a (C, H, W) array to (h, w) = ``size`` channel by channel (PIL's bilinear filter is antialiased
    when reducing) and return it as (h, w, C) in [0, 1]. Resizing first keeps big inputs from being copied."""
    if array.shape[1:] != size:
        array = np.stack(
            [np.asarray(Image.fromarray(np.ascontiguousarray(ch)).resize(size[::-1], Image.BILINEAR)) for ch in array]
        )
    return np.clip(np.nan_to_num(array.transpose(1, 2, 0)), 0.0, 1.0)


def _blend(image: np.ndarray, maps: np.ndarray, colors: Sequence[tuple[int, int, int]], alpha: float) -> np.ndarray:
    """Paint each class's colour over the image with opacity ``alpha * map``, class after class."""
    out = image.copy()
    for c, color in enumerate(colors):
        opacity = alpha * maps[..., c : c + 1]
        out = out * (1.0 - opacity) + np.asarray(color, np.float32) / 255.0 * opacity
    return out


def _to_pil(array: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def _legend_lines(
    classes: Sequence[str], score: float | None, class_probs: Sequence[float] | None
) -> list[str]:
    lines = [f"score {score:.3f}"] if score is not None else []
    for i, name in enumerate(classes):
        lines.append(name if class_probs is None else f"{name}  p={float(class_probs[i]):.3f}")
    return lines


def _map_panel(maps: np.ndarray, colors: Sequence[tuple[int, int, int]], width: int) -> Image.Image:
    """The class maps side by side, each drawn in its class colour on black, together ``width`` wide."""
    tile_w = max(1, width // maps.shape[2])
    tile_h = max(1, round(maps.shape[0] * tile_w / maps.shape[1]))
    small = _resize_to_hwc(maps.transpose(2, 0, 1), (tile_h, tile_w))
    panel = Image.new("RGB", (tile_w * maps.shape[2], tile_h))
    for c, color in enumerate(colors):
        tile = small[..., c : c + 1] * (np.asarray(color, np.float32) / 255.0)
        panel.paste(_to_pil(tile), (c * tile_w, 0))
    return panel


def overlay(
    image: torch.Tensor | np.ndarray,
    maps: torch.Tensor | np.ndarray,
    classes: Sequence[str] = ARTIFACT_CLASSES,
    alpha: float = 0.6,
    score: float | None = None,
    class_probs: Sequence[float] | torch.Tensor | None = None,
    panel: bool = False,
    style: OverlayStyle = DEFAULT_STYLE,
) -> Image.Image:
    """Render an RGB image with its per-class artifact maps painted over it, and a legend below.

    ``image`` is (3, H, W) and ``maps`` (C, H, W), both in [0, 1] (maps are resized to the image if they
    differ). Each class is painted in its own colour with opacity ``alpha * map value``. The legend lists
    each class with its colour and, when given, its probability and the overall ``score``. With ``panel``
    the maps are also shown side by side in a strip under the overlay. The picture is rendered with its long
    side at most ``MAX_RENDER_SIDE`` pixels; the result is an RGB ``PIL.Image``.
    """
    img = _as_chw_array(image, "image")
    heat = _as_chw_array(maps, "maps")
    if img.shape[0] != 3:
        raise ValueError(f"image must have 3 channels, got {img.shape[0]}")
    if heat.shape[0] != len(classes):
        raise ValueError(f"maps has {heat.shape[0]} channels but {len(classes)} classes were given")
    if len(classes) > len(style.colors):
        raise ValueError(f"style has {len(style.colors)} colours for {len(classes)} classes")
    colors = style.colors[: len(classes)]
    size = render_size(*img.shape[1:])
    img = _resize_to_hwc(img, size)
    heat = _resize_to_hwc(heat, size)
    picture = _to_pil(_blend(img, heat, colors, alpha))
    strip = _map_panel(heat, colors, size[1]) if panel else None

    probs = class_probs.tolist() if isinstance(class_probs, torch.Tensor) else class_probs
    lines = _legend_lines(classes, score, probs)
    font = ImageFont.load_default(size=style.font_size)
    line_h = style.font_size + style.padding
    swatch = style.font_size
    measure = ImageDraw.Draw(picture)
    text_w = max(int(measure.textlength(line, font=font)) for line in lines)
    legend_w = 2 * style.padding + swatch + style.padding + text_w
    legend_h = style.padding + line_h * len(lines)

    width = max(picture.width, legend_w)
    height = picture.height + (strip.height if strip else 0) + legend_h
    canvas = Image.new("RGB", (width, height), style.background)
    canvas.paste(picture, (0, 0))
    if strip:
        canvas.paste(strip, (0, picture.height))
    draw = ImageDraw.Draw(canvas)
    top = height - legend_h + style.padding
    offset = 1 if score is not None else 0
    for i, line in enumerate(lines):
        y = top + i * line_h
        x = style.padding
        if i >= offset:
            draw.rectangle([x, y, x + swatch - 1, y + swatch - 1], fill=colors[i - offset])
        draw.text((x + swatch + style.padding, y), line, fill=style.text_color, font=font)
    return canvas
