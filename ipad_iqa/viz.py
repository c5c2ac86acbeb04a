"""Overlay rendering of per-class artifact maps, with PIL, numpy and scipy only (no plotting dependency).

The picture is made to be read at a glance: the photo keeps its look, with the regions each class flags
outlined (and lightly tinted) in the class colour; under it, with ``panel=True``, one panel per class shows
the map on the fixed [0, 1] scale, in a perceptually uniform colormap of the class's hue, with a title and
a colour bar. Maps are smoothed for display only, so that the model's patch and tile grid does not draw
edges of its own; the raw maps are what ``ipad-iqa score --save-maps`` writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from ipad_iqa.output import ARTIFACT_CLASSES

#: Longest side of the rendered photo. Maps come at input resolution (up to hundreds of megapixels);
#: rendering is done on a copy downscaled to this bound so its cost and the PNG size stay bounded.
MAX_RENDER_SIDE: int = 1600
#: Long side of the rendered photo up to which the sizes of an ``OverlayStyle`` apply as they are.
STYLE_REFERENCE_SIDE: int = 1000
#: Map value from which a region is outlined on the photo, unless ``overlay(levels=...)`` says otherwise.
FLAG_LEVEL: float = 0.5
#: CIELAB lightness L* of a class colormap at map value 0 and at 1: near white for "nothing", dark for "sure".
COLORMAP_LIGHTNESS: tuple[float, float] = (97.0, 28.0)
#: Chroma a class colormap gains per unit of lightness lost, before the sRGB gamut caps it: 0 stays white.
COLORMAP_CHROMA_RATE: float = 2.0


@dataclass(frozen=True)
class OverlayStyle:
    """Colours and layout of :func:`overlay`; the defaults are what the CLI writes. Sizes (font, padding,
    lines, panels) are in pixels for a photo rendered up to ``STYLE_REFERENCE_SIDE``; larger renders scale
    them, so that text stays legible when the picture is viewed whole."""

    #: One colour per class, in ``ARTIFACT_CLASSES`` order; red / amber / blue stay distinct for common
    #: colour-vision deficiencies and against most photo content. Each class's colormap has its hue.
    colors: tuple[tuple[int, int, int], ...] = ((230, 25, 75), (255, 170, 0), (0, 120, 220))
    font_size: int = 14
    padding: int = 6
    background: tuple[int, int, int] = (255, 255, 255)
    text_color: tuple[int, int, int] = (0, 0, 0)
    #: Width of the outlines on the photo, in rendered pixels; each has a 1-px dark edge so it shows on any
    #: content.
    line_width: int = 3
    outline_edge: tuple[int, int, int] = (20, 20, 20)
    #: Display smoothing of the maps: Gaussian sigma as a fraction of the rendered photo's long side.
    smooth: float = 0.02
    #: Narrowest width of a class panel, so that its title and colour bar stay legible under small photos.
    panel_width: int = 200
    colorbar_height: int = 10


DEFAULT_STYLE = OverlayStyle()

# sRGB (D65) <-> CIELAB, the textbook formulas: enough to build colormaps, no colour library needed.
_WHITE = np.array([0.95047, 1.0, 1.08883])
_XYZ_TO_RGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
_DELTA = 6 / 29


def _lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) -> sRGB in [0, 1], unclipped: a value outside [0, 1] means out of gamut."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    linear = (np.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29)) * _WHITE) @ _XYZ_TO_RGB.T
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.maximum(linear, 0.0031308) ** (1 / 2.4) - 0.055)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] -> CIELAB (D65)."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((np.asarray(rgb, float) + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.linalg.inv(_XYZ_TO_RGB).T / _WHITE
    f = np.where(xyz > _DELTA**3, np.cbrt(xyz), xyz / (3 * _DELTA**2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


@cache
def class_colormap(color: tuple[int, int, int], n: int = 256) -> np.ndarray:
    """Sequential colormap of ``color``'s hue as an (n, 3) uint8 table, for map values 0..1.

    Why this one: it runs from near white (0: nothing) to dark (1: sure) with lightness falling steadily, so
    a larger value always looks "more" (even in grey print), and its entries are spaced at equal CIELAB
    colour differences, so equal steps of the map look like equal steps (perceptually uniform, as viridis
    is). The chroma grows with the darkening, as high as sRGB allows at that lightness for the hue.
    """
    hue = np.arctan2(*srgb_to_lab(np.asarray(color, float) / 255)[[2, 1]])
    lightness = np.linspace(*COLORMAP_LIGHTNESS, 1024)
    low, high = np.zeros_like(lightness), COLORMAP_CHROMA_RATE * (COLORMAP_LIGHTNESS[0] - lightness)
    for _ in range(30):  # bisection for the largest in-gamut chroma up to the ramp's
        mid = (low + high) / 2
        rgb = _lab_to_srgb(np.stack([lightness, mid * np.cos(hue), mid * np.sin(hue)], axis=-1))
        inside = np.all((rgb >= 0) & (rgb <= 1), axis=-1)
        low, high = np.where(inside, mid, low), np.where(inside, high, mid)
    # the corner where the ramp meets the gamut's edge is rounded off: a corner would bunch colours up there
    chroma = np.minimum(low, ndimage.gaussian_filter1d(low, 150, mode="nearest"))
    path = np.stack([lightness, chroma * np.cos(hue), chroma * np.sin(hue)], axis=-1)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    even = np.linspace(0.0, arc[-1], n)
    lab = np.stack([np.interp(even, arc, path[:, k]) for k in range(3)], axis=-1)
    return (np.clip(_lab_to_srgb(lab), 0, 1) * 255 + 0.5).astype(np.uint8)


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


def display_maps(maps: np.ndarray, smooth: float) -> np.ndarray:
    """(h, w, C) maps smoothed for display with a Gaussian of sigma ``smooth`` x the long side: the model's
    patch and tile grid then draws no edges of its own (seams), and outlines follow the regions."""
    sigma = smooth * max(maps.shape[:2])
    if sigma <= 0:
        return maps
    return ndimage.gaussian_filter(maps, sigma=(sigma, sigma, 0), mode="nearest")


def _outline(region: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The outline of a boolean region, ``width`` px wide, and the 1-px edge around that outline. Regions
    touching the picture's border are not outlined along it (the tint shows them there)."""
    line = region & ~ndimage.binary_erosion(region, border_value=1)
    if width > 1:
        line = ndimage.binary_dilation(line, iterations=width // 2)
    return line, ndimage.binary_dilation(line) & ~line


def _paint(picture: np.ndarray, mask: np.ndarray, color: Sequence[int], opacity: float = 1.0) -> None:
    """Blend ``color`` (0..255) into the float picture where ``mask`` is set, in place."""
    picture[mask] = (1.0 - opacity) * picture[mask] + opacity * np.asarray(color, np.float32) / 255.0


def _to_pil(array: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def _photo(image: np.ndarray, flagged: np.ndarray, colors: Sequence[tuple[int, int, int]], alpha: float,
           style: OverlayStyle) -> Image.Image:
    """The photo with every class's flagged regions tinted at opacity ``alpha`` and outlined in its colour."""
    out = image.copy()
    for c, color in enumerate(colors):
        _paint(out, flagged[..., c], color, alpha)
    for c, color in enumerate(colors):
        line, edge = _outline(flagged[..., c], style.line_width)
        _paint(out, edge, style.outline_edge)
        _paint(out, line, color)
    return _to_pil(out)


def _scaled(style: OverlayStyle, factor: float) -> OverlayStyle:
    """``style`` with its sizes multiplied by ``factor`` when that is above 1."""
    if factor <= 1:
        return style
    sizes = ("font_size", "padding", "line_width", "panel_width", "colorbar_height")
    return dataclasses.replace(style, **{name: round(getattr(style, name) * factor) for name in sizes})


def _fonts(style: OverlayStyle) -> tuple[ImageFont.ImageFont, ImageFont.ImageFont]:
    """Body and small fonts (PIL's bundled font: nothing to install)."""
    return ImageFont.load_default(size=style.font_size), ImageFont.load_default(size=max(8, style.font_size - 3))


def _class_panel(heat: np.ndarray, flagged: np.ndarray, color: tuple[int, int, int], title: str, level: float,
                 width: int, style: OverlayStyle) -> Image.Image:
    """One class: its title, its map in the class colormap (the flagged outline drawn thin and dark), and a
    colour bar with ticks at 0, 0.5 and 1 and a black mark at the outline level."""
    font, small = _fonts(style)
    pad, bar_h = style.padding, style.colorbar_height
    lut = class_colormap(tuple(color))
    map_h = max(1, round(heat.shape[0] * width / heat.shape[1]))
    size = (width, map_h)
    picture = lut[np.rint(heat * (len(lut) - 1)).astype(np.intp)]
    tile = Image.fromarray(picture).resize(size, Image.BILINEAR)
    line, _ = _outline(np.asarray(Image.fromarray(flagged).resize(size, Image.NEAREST)), 1)
    tile_array = np.asarray(tile).copy()
    tile_array[line] = style.outline_edge
    line_h = style.font_size + pad
    tick_h = style.font_size
    panel = Image.new("RGB", (width, line_h + map_h + pad + bar_h + 4 + tick_h), style.background)
    draw = ImageDraw.Draw(panel)
    draw.text((0, 0), title, fill=style.text_color, font=font)
    panel.paste(Image.fromarray(tile_array), (0, line_h))
    draw.rectangle([0, line_h, width - 1, line_h + map_h - 1], outline=(160, 160, 160))
    top = line_h + map_h + pad
    draw.rectangle([0, top - 1, width - 1, top + bar_h], outline=(160, 160, 160))  # the frame, then inside it
    ramp = lut[np.linspace(0, len(lut) - 1, width - 2).round().astype(np.intp)]  # value v at x = 1 + v (w - 3)
    panel.paste(Image.fromarray(np.repeat(ramp[None], bar_h, axis=0)), (1, top))
    mark = 1 + round(level * (width - 3))
    draw.rectangle([mark - 1, top - 3, mark + 1, top + bar_h + 2], fill=(0, 0, 0))
    for value in (0.0, 0.5, 1.0):
        text = f"{value:g}"
        x = 1 + round(value * (width - 3)) - draw.textlength(text, font=small) * value
        draw.text((x, top + bar_h + 3), text, fill=style.text_color, font=small)
    return panel


def _class_line(name: str, prob: float | None, level: float, peak: float) -> str:
    """A class's legend line: its probability, and where it is outlined (or that nothing reaches the level)."""
    head = name if prob is None else f"{name}  p={prob:.3f}"
    where = f"outlined where map >= {level:g}" if peak >= level else f"map below {level:g} everywhere"
    return f"{head}   ({where}; max {peak:.2f})"


def overlay(
    image: torch.Tensor | np.ndarray,
    maps: torch.Tensor | np.ndarray,
    classes: Sequence[str] = ARTIFACT_CLASSES,
    alpha: float = 0.2,
    score: float | torch.Tensor | None = None,
    class_probs: Sequence[float] | torch.Tensor | None = None,
    panel: bool = False,
    style: OverlayStyle = DEFAULT_STYLE,
    title: str | None = None,
    levels: float | Sequence[float] = FLAG_LEVEL,
) -> Image.Image:
    """Render an RGB image with the regions its per-class maps flag, a legend, and optionally the maps.

    ``image`` is (3, H, W) and ``maps`` (C, H, W), both in [0, 1] (maps are resized to the image if they
    differ). Where a class's display-smoothed map reaches its level (``levels``: one for all classes or one
    per class), the photo is tinted at opacity ``alpha`` and outlined in the class colour. Above the photo:
    ``title`` and the ``score``; below it, one legend line per class with its probability, its level and its
    map's maximum. With ``panel`` each class map follows on the fixed [0, 1] scale, in its colormap
    (:func:`class_colormap`), with a title and a colour bar. The photo is rendered with its long side at most
    ``MAX_RENDER_SIDE`` pixels; the result is an RGB ``PIL.Image``.
    """
    img = _as_chw_array(image, "image")
    heat = _as_chw_array(maps, "maps")
    if img.shape[0] != 3:
        raise ValueError(f"image must have 3 channels, got {img.shape[0]}")
    if heat.shape[0] != len(classes):
        raise ValueError(f"maps has {heat.shape[0]} channels but {len(classes)} classes were given")
    if len(classes) > len(style.colors):
        raise ValueError(f"style has {len(style.colors)} colours for {len(classes)} classes")
    per_class = [float(levels)] * len(classes) if isinstance(levels, (int, float)) else [float(v) for v in levels]
    if len(per_class) != len(classes) or not all(0.0 < v <= 1.0 for v in per_class):
        raise ValueError(f"levels must be one value or one per class ({len(classes)}), each in (0, 1]; "
                         f"got {levels!r}")
    colors = style.colors[: len(classes)]
    size = render_size(*img.shape[1:])
    style = _scaled(style, max(size) / STYLE_REFERENCE_SIDE)
    img = _resize_to_hwc(img, size)
    heat = display_maps(_resize_to_hwc(heat, size), style.smooth)
    flagged = heat >= np.asarray(per_class, np.float32)
    if score is not None:  # a one-element tensor too, as IPADOutput.score[i] is
        if isinstance(score, torch.Tensor) and score.numel() != 1:
            raise ValueError(f"score must be one number, got a tensor of shape {tuple(score.shape)}")
        score = float(score)
    probs = class_probs.tolist() if isinstance(class_probs, torch.Tensor) else class_probs
    probs = [None] * len(classes) if probs is None else [float(p) for p in probs]
    peaks = heat.reshape(-1, len(classes)).max(axis=0)

    font, _ = _fonts(style)
    pad, line_h = style.padding, style.font_size + style.padding
    header = [t for t in (title, None if score is None else f"score {score:.3f}   (1 = no local artifact)") if t]
    legend = [_class_line(n, p, v, float(m)) for n, p, v, m in zip(classes, probs, per_class, peaks, strict=True)]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max(measure.textlength(t, font=font) for t in [*header, *legend])
    swatch = style.font_size
    panel_w = max(style.panel_width, (size[1] - pad * (len(classes) - 1)) // len(classes))
    strip_w = len(classes) * panel_w + pad * (len(classes) - 1) if panel else 0
    width = max(size[1], int(text_w) + swatch + 3 * pad, strip_w)
    strip = [_class_panel(heat[..., c], flagged[..., c], colors[c], classes[c] if probs[c] is None else
                          f"{classes[c]}  p={probs[c]:.3f}", per_class[c], panel_w, style)
             for c in range(len(classes))] if panel else []

    top = pad + line_h * len(header)
    photo_bottom = top + size[0]
    legend_top = photo_bottom + pad
    strip_top = legend_top + line_h * len(legend) + pad
    height = strip_top + (max(p.height for p in strip) + pad if strip else 0)
    canvas = Image.new("RGB", (width, height), style.background)
    canvas.paste(_photo(img, flagged, colors, alpha, style), ((width - size[1]) // 2, top))
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(header):
        draw.text((pad, pad + i * line_h), text, fill=style.text_color, font=font)
    for i, text in enumerate(legend):
        y = legend_top + i * line_h
        draw.rectangle([pad, y + 2, pad + swatch - 1, y + swatch - 1], fill=colors[i], outline=style.outline_edge)
        draw.text((2 * pad + swatch, y), text, fill=style.text_color, font=font)
    left = (width - strip_w) // 2
    for c, part in enumerate(strip):
        canvas.paste(part, (left + c * (panel_w + pad), strip_top))
    return canvas
