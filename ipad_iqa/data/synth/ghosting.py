"""Local ghosting: misaligned multi-frame fusion, optical ghost copies and glass reflections, in linear light.

Four physical causes, one per ``mode``:

* ``motion``: an object moves between the frames of a burst/HDR fusion. Inside the moving region ``S`` the
  result mixes the reference frame with the displaced one, ``I_g = w I + (1 - w) T_d(I)`` over
  ``S u T_d S`` with a soft alpha (fusion weight maps are smooth): semi-transparent copies, double contours.
* ``fusion``: a hand-shaken frame fused only where it is better exposed (highlights or shadows), so the
  small global shake ``d`` shows as double edges confined to those tonal regions of one part of the frame.
* ``optical``: a bright object is reflected between lens/filter surfaces and reappears as a faint, defocused,
  displaced copy, ``I + g G_sigma * T_d(I B)``, with ``B`` a soft mask of the bright object.
* ``reflection``: a second scene reflected by a pane of glass in front of the camera. Its two surfaces give a
  double image, ``R_2 = (R + e T_d(R)) / (1 + e)``, seen defocused over a soft region ``a`` of the pane:
  ``I_g = (1 - g a / 4) I + g a G_sigma * R_2`` (the pane also dims what is behind it). ``R`` is a second
  photo (``scene``), mirrored left to right as a reflection is; without one, the same photo turned by 180
  degrees and rolled by a random offset: another scene with the photo's own statistics.

Regions are centred where the image has texture (or, for ``optical``, light; for ``reflection``, shadow, where
a reflection shows), so the change is visible.
**Mask rule**: union of the displaced regions (``S u T_d S``, the displaced bright object or the reflecting
region ``a``, dilated by 2 px)
intersected with ``common.change_mask(mean |sRGB(out) - sRGB(in)|)``: only pixels where the copy actually differs
from what was there are annotated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ipad_iqa.data.synth.common import (
    LUMA,
    SynthResult,
    as_rgb,
    change_mask,
    jsonable,
    lerp,
    linear_to_srgb,
    loguniform,
    mean_abs_change,
    pick_weighted,
    sample_severity,
    srgb_to_linear,
    texture_weights,
)

MODES = ("motion", "fusion", "optical", "reflection")
# Probability of each of MODES. Reflection is off by default: IPAD-Synth v1 was written without it and must stay
# byte-identical; training configs switch it on with ``data.ghosting_modes``.
DEFAULT_MODE_PROBS: tuple[float, float, float, float] = (0.5, 0.25, 0.25, 0.0)
# What the reflection mode reflects: "self", the photo itself turned and rolled (IPAD-Synth v1's and the default),
# or "other", a second photo of the same scene split, as a pane of glass reflects another scene.
REFLECTION_SCENES: tuple[str, ...] = ("self", "other")
# The photo a reflection shows: an array, or a function returning one, called only when the reflection mode is
# drawn, so that callers need not decode a second photo for the other modes' samples.
Scene = np.ndarray | Callable[[], np.ndarray]


def check_reflection_scene(value: str) -> None:
    """ValueError unless ``value`` is one of :data:`REFLECTION_SCENES`."""
    if value not in REFLECTION_SCENES:
        raise ValueError(f"reflection scene must be one of {REFLECTION_SCENES}, got {value!r}")


def check_mode_probs(mode_probs: tuple[float, ...]) -> np.ndarray:
    """``mode_probs`` as an array, or a ValueError naming what is wrong (checked before workers start)."""
    p = np.asarray(mode_probs, dtype=np.float64)
    if p.shape != (len(MODES),) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"ghosting mode probabilities must be {len(MODES)} non-negative numbers for {MODES} "
                         f"with a positive sum, got {mode_probs!r}")
    return p


def only_mode(mode: str) -> tuple[float, ...]:
    """``mode_probs`` that draw ``mode`` alone, with the same random draws as any other ``mode_probs``."""
    if mode not in MODES:
        raise ValueError(f"ghosting mode must be one of {MODES}, got {mode!r}")
    return tuple(float(m == mode) for m in MODES)


def pick_mode(rng: np.random.Generator, mode_probs: tuple[float, ...]) -> str:
    """Draw a mode; modes of probability 0 are left out of the draw, so adding one keeps old streams."""
    p = check_mode_probs(mode_probs)
    used = p > 0
    return str(rng.choice(np.asarray(MODES)[used], p=p[used] / p[used].sum()))


def _blur(u: float, mode: str) -> float:
    """Defocus (px) from a uniform draw u: 0.5-3 px uniform, or 0.5-16 px log-uniform for reflections."""
    return 0.5 * 32.0 ** u if mode == "reflection" else 0.5 + 2.5 * u


@dataclass(frozen=True)
class GhostingParams:
    """Ghosting parameters; ``region_radius`` is a fraction of the image's short side."""

    severity: float
    mode: str  # one of MODES
    shift_px: float
    angle: float  # radians, direction of the displacement
    opacity: float  # 1 - w for motion/fusion; reflection gain g for optical and reflection
    region_radius: float
    region_aspect: float
    region_rotation: float
    irregularity: float  # boundary wobble of the moving region
    blur_sigma: float  # defocus of optical ghosts and reflections (px)
    shadows: bool  # fusion: shaken frame used in shadows instead of highlights

    @classmethod
    def sample(cls, rng: np.random.Generator, severity: float | None = None,
               mode_probs: tuple[float, ...] = DEFAULT_MODE_PROBS) -> GhostingParams:
        """Draw parameters; severity sets opacity and displacement, the rest is free variety.

        Every mode makes the same draws in the same order, so the streams of the v1 modes do not depend on
        whether ``reflection`` can be drawn.
        """
        s = sample_severity(rng, severity)
        mode = pick_mode(rng, mode_probs)
        shift = {"motion": lerp(2.0, 20.0, s), "fusion": lerp(1.5, 7.0, s), "optical": lerp(6.0, 40.0, s),
                 "reflection": lerp(2.0, 12.0, s)}[mode]
        opacity = {"optical": lerp(0.25, 0.8, s), "reflection": lerp(0.2, 0.7, s)}.get(mode, lerp(0.12, 0.5, s))
        return cls(
            severity=s,
            mode=mode,
            shift_px=shift * loguniform(rng, 0.8, 1.25),
            angle=float(rng.uniform(0, 2 * np.pi)),
            opacity=opacity * loguniform(rng, 0.85, 1.15),
            # a reflecting pane covers more of the frame than a moving object, up to all of it
            region_radius=loguniform(rng, 0.08, 0.3) * (3.0 if mode == "reflection" else 1.0),
            region_aspect=loguniform(rng, 0.5, 2.0),
            region_rotation=float(rng.uniform(0, np.pi)),
            irregularity=float(rng.uniform(0.0, 0.4)),
            # a reflection is focused far behind or in front of the pane: defocus up to 16 px, log-uniform (the
            # same draw as the other modes' 0.5-3 px, so the streams stay aligned)
            blur_sigma=_blur(float(rng.uniform(0.0, 1.0)), mode),
            shadows=bool(rng.random() < 0.3),
        )


def _box(shape: tuple[int, int], centre: tuple[int, int], reach: float) -> tuple[slice, slice]:
    """Window of half-size ``reach`` around ``centre``, clipped to the image: all work happens inside it."""
    r = int(np.ceil(reach))
    return (slice(max(0, centre[0] - r), min(shape[0], centre[0] + r + 1)),
            slice(max(0, centre[1] - r), min(shape[1], centre[1] + r + 1)))


def _blob(box_shape: tuple[int, int], centre: tuple[float, float], radius_px: float, prm: GhostingParams,
          rng: np.random.Generator) -> np.ndarray:
    """Soft irregular elliptical region in [0, 1] (a moving object's support), in box coordinates."""
    h, w = box_shape
    ry, rx = radius_px * np.sqrt(prm.region_aspect), radius_px / np.sqrt(prm.region_aspect)
    yy, xx = np.ogrid[:h, :w]
    dy, dx = (yy - centre[0]).astype(np.float32), (xx - centre[1]).astype(np.float32)
    c, s = np.cos(prm.region_rotation), np.sin(prm.region_rotation)
    q = ((c * dy + s * dx) / ry) ** 2 + ((-s * dy + c * dx) / rx) ** 2
    coarse = np.asarray(Image.fromarray(rng.normal(size=(6, 6)).astype(np.float32), mode="F")
                        .resize((w, h), Image.BICUBIC))
    inside = (np.sqrt(q) + prm.irregularity * coarse < 1.0).astype(np.float32)
    return ndimage.gaussian_filter(inside, 2.0)


def _shift(x: np.ndarray, d: tuple[float, float]) -> np.ndarray:
    """``T_d``: translate content by ``d`` = (dy, dx) px with bilinear interpolation, edges replicated."""
    shift = (d[0], d[1], 0) if x.ndim == 3 else d
    return ndimage.shift(x, shift, order=1, mode="nearest", prefilter=False)


def scene_array(scene: Scene) -> np.ndarray:
    """The reflected photo as an array: ``scene`` itself, or what it returns if it is a function."""
    return scene() if callable(scene) else scene


def _scene_array(scene: Scene, shape: tuple[int, ...]) -> np.ndarray:
    """:func:`scene_array`, checked against the image's ``shape``."""
    picture = scene_array(scene)
    if picture.shape[:2] != shape:
        raise ValueError(f"reflected scene is {picture.shape[0]}x{picture.shape[1]} px, the image "
                         f"{shape[0]}x{shape[1]}: they must match")
    return picture


def synthesize(image: np.ndarray, rng: np.random.Generator, params: GhostingParams | None = None,
               scene: Scene | None = None) -> SynthResult:
    """Add local ghosting to ``image`` (see module docstring for the model and the mask rule).

    ``scene``: the photo the ``reflection`` mode reflects, of the same height and width as ``image``, or a
    function returning it (other modes ignore it and never call it); None reflects ``image`` itself, turned
    and rolled.
    """
    src = as_rgb(image)
    prm = params if params is not None else GhostingParams.sample(rng)
    lin = srgb_to_linear(src)
    shape = src.shape[:2]
    if isinstance(scene, np.ndarray):
        _scene_array(scene, shape)  # a wrong array is an error whatever the mode
    d = (prm.shift_px * np.sin(prm.angle), prm.shift_px * np.cos(prm.angle))
    margin = int(min(shape) * 0.05)
    lum = lin @ LUMA
    radius = prm.region_radius * min(shape)
    reach = radius * np.sqrt(max(prm.region_aspect, 1 / prm.region_aspect)) * (1 + prm.irregularity) \
        + prm.shift_px + 3 * prm.blur_sigma + 8
    if prm.mode == "optical":
        centre = pick_weighted(rng, ndimage.uniform_filter(lum, 7) ** 4, margin)
    elif prm.mode == "reflection":
        centre = pick_weighted(rng, (1.0 - ndimage.uniform_filter(lum, 15)) ** 2, margin)
    else:
        centre = pick_weighted(rng, texture_weights(lin), margin)
    box = _box(shape, centre, reach)
    blin, blum = lin[box], lum[box]
    region = _blob(blin.shape[:2], (centre[0] - box[0].start, centre[1] - box[1].start), radius, prm, rng)
    extra: dict[str, float | str | list[float]] = {}
    if prm.mode == "reflection":
        if scene is None:
            roll = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
            behind = np.roll(lin[::-1, ::-1], roll, axis=(0, 1))[box]
            extra = {"scene_roll": [roll[0] / shape[0], roll[1] / shape[1]]}
        else:
            behind = srgb_to_linear(as_rgb(_scene_array(scene, shape))[:, ::-1][box])  # only the box is blended
            extra = {"scene": "other"}
        echo = float(rng.uniform(0.4, 0.9))  # second-surface reflection relative to the first
        behind = ndimage.gaussian_filter((behind + echo * _shift(behind, d)) / (1 + echo),
                                         (prm.blur_sigma, prm.blur_sigma, 0))
        alpha = (prm.opacity * region)[..., None]
        new = (1 - alpha / 4) * blin + alpha * behind
        support = region > 0.01
        extra["echo"] = echo
    elif prm.mode == "optical":
        bright = np.clip((blum - np.quantile(blum, 0.8)) / 0.1, 0.0, 1.0) * region
        ghost = _shift(ndimage.gaussian_filter(blin * bright[..., None], (prm.blur_sigma, prm.blur_sigma, 0)), d)
        new = blin + prm.opacity * ghost
        support = _shift(bright, d) > 0.01
    else:
        if prm.mode == "fusion":
            tone = 1.0 - blum if prm.shadows else blum
            region = region * np.clip((tone - np.quantile(tone, 0.5)) / 0.15, 0.0, 1.0)
        alpha = np.maximum(region, _shift(region, d))
        new = blin + (prm.opacity * alpha)[..., None] * (_shift(blin, d) - blin)
        support = alpha > 0.01
    out = src.copy()
    out[box] = linear_to_srgb(new)
    region_mask = np.zeros(shape, bool)
    region_mask[box] = ndimage.binary_dilation(support, iterations=2)
    mask = change_mask(mean_abs_change(out, src), region=region_mask)
    h, w = shape
    info = asdict(prm) | {"kind": "ghosting", "centre": [centre[0] / h, centre[1] / w]} | extra
    return SynthResult(image=out, mask=mask, severity=prm.severity, params=jsonable(info))
