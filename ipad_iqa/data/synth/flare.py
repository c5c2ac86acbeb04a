"""Procedural lens flare, composited in linear light.

Physical model (per light source at pixel ``p``; ``D`` is the image's short side):

* **Core**: the source itself, a saturating Gaussian spot. It is placed on the brightest saturated blob of the
  scene when there is one (flare needs a light source), otherwise a source is added (sun by day, lamps by night).
  Given :class:`SceneLights`, the flare builds on those lights instead and adds no core of its own: the light
  belongs to the scene (IPAD-Synth v2 puts it into the canvas, so the clean twin shows it too) and the flare is
  what the lens adds around it.
* **Scattering glare**: a Lorentzian-like PSF tail ``(1 + (r / r_h)^2)^-k`` whose radius grows with wavelength
  (chromatic spread: red halo wider than blue), modulated by fine angular rays (scratches and dust on the front
  element scatter light into thin radial rays).
* **Streaks**: diffraction spikes of an ``n``-blade polygonal aperture: ``n`` lines for even ``n``, ``2n``
  half-lines (i.e. ``n`` lines at doubled density) for odd ``n``, each a thin Gaussian ridge decaying with
  ``exp(-r / (L * lambda_c / lambda_G))``, so spikes fringe red at their tips as real ones do.
* **Veiling glare**: a very wide, faint Gaussian wash centred on the source (stray light in the barrel).
* **Reflective ghosts**: inter-reflections between lens surfaces image the aperture along the line through the
  optical centre ``c``: ghost ``k`` sits at ``c + t_k (p - c)`` (``t = -1`` is the mirror point ``2c - p``),
  shaped like the aperture polygon, as a uniform disc or a bright ring, with a coating-dependent colour tint.

Everything is summed as a flare layer ``F`` in linear RGB, added to the linearised image and clipped (sensor
saturation). **Mask rule**: ``change_mask(mean |sRGB(out) - sRGB(in)|)``, i.e. the flare layer's visible
luminance contribution after saturation, thresholded at ``min(2/255, t_90)`` (see ``common.MaskRule``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import ndimage

from ipad_iqa.data.synth.common import (
    LUMA,
    MaskRule,
    SynthResult,
    as_rgb,
    change_mask,
    jsonable,
    lerp,
    linear_to_srgb,
    loguniform,
    mean_abs_change,
    sample_severity,
    srgb_to_linear,
)

# Relative wavelengths (R, G, B) ~ (610, 550, 465) nm, normalised to green: sets the chromatic spread.
_LAMBDA = np.array([610.0, 550.0, 465.0], dtype=np.float32) / 550.0
# Light colours (linear RGB): daylight sun, warm tungsten/sodium lamp, cold LED.
_SOURCE_TINTS = {"sun": (1.0, 0.95, 0.85), "sodium": (1.0, 0.7, 0.35), "led": (0.85, 0.92, 1.0)}
# Anti-reflection coating tints of ghost reflections (green/magenta/amber/cyan are typical).
# Halo and veil change smoothly, but saturated scene texture makes their visible change ragged: smooth more.
_MASK_RULE = MaskRule(smooth_sigma=3.0)
#: linear luminance from which a pixel counts as a light of the photo (a flare source to build on)
LIGHT_LUMINANCE = 0.92
# Peak linear gain of a source's core: three times white, so the spot saturates out to about its radius.
_CORE_GAIN = 3.0
# Sub-pixel resolution of the tabulated radial profiles.
_TABLE_STEPS = 4
_GHOST_TINTS = ((0.5, 1.0, 0.6), (1.0, 0.5, 0.9), (1.0, 0.75, 0.4), (0.5, 0.85, 1.0), (0.9, 0.9, 0.9))


# The lights a flare comes from, drawn in this order by FlareParams and SceneLights alike (one definition, so
# a plain light and a flare's source never drift apart): one sun by day, one to three lamps at night.
def _n_lights(rng: np.random.Generator, night: bool) -> int:
    return int(rng.integers(1, 4)) if night else 1


def _light_kind(rng: np.random.Generator, night: bool) -> str:
    return str(rng.choice(["sodium", "led"])) if night else "sun"


def _core_radius(rng: np.random.Generator, night: bool) -> float:
    """Radius of a light's core, as a fraction of the short side: small lamps, a larger sun."""
    return loguniform(rng, 0.004, 0.012) if night else loguniform(rng, 0.01, 0.03)


@dataclass(frozen=True)
class FlareParams:
    """Lens-flare parameters; lengths are fractions of the image's short side ``D``."""

    severity: float
    variant: str  # "day" or "night"
    n_sources: int  # night scenes may flare from several lamps
    light: str  # key of _SOURCE_TINTS
    intensity: float  # overall linear gain of the flare layer
    core_radius: float
    halo_radius: float
    halo_power: float
    ray_amount: float  # angular modulation depth of the scattering glare
    n_blades: int
    streak_gain: float
    streak_length: float
    streak_width_px: float
    rotation: float  # radians, aperture orientation
    veil_gain: float
    veil_sigma: float
    ghost_t: tuple[float, ...]  # positions along c + t (p - c)
    ghost_radius: tuple[float, ...]
    ghost_gain: tuple[float, ...]
    ghost_ring: tuple[bool, ...]
    ghost_tint: tuple[int, ...]  # indices into _GHOST_TINTS
    use_scene_source: bool  # prefer a saturated blob of the scene as the source when one exists

    @classmethod
    def sample(cls, rng: np.random.Generator, severity: float | None = None) -> FlareParams:
        """Draw parameters; severity scales gains and the number of ghosts, the rest is free variety."""
        s = sample_severity(rng, severity)
        night = bool(rng.random() < 0.5)
        n_ghosts = int(rng.integers(0, 2 + round(4 * s)))
        return cls(
            severity=s,
            variant="night" if night else "day",
            n_sources=_n_lights(rng, night),
            light=_light_kind(rng, night),
            intensity=lerp(0.12, 1.0, s) * loguniform(rng, 0.8, 1.25),
            core_radius=_core_radius(rng, night),
            halo_radius=loguniform(rng, 0.01, 0.05) if night else loguniform(rng, 0.03, 0.1),
            halo_power=float(rng.uniform(1.1, 1.8)),
            ray_amount=float(rng.uniform(0.0, 0.8)),
            n_blades=int(rng.integers(5, 9)),
            streak_gain=float(rng.uniform(0.0, 1.0)) * (1.0 if night else 0.5),
            streak_length=loguniform(rng, 0.08, 0.5),
            streak_width_px=float(rng.uniform(0.6, 1.6)),
            rotation=float(rng.uniform(0.0, np.pi)),
            veil_gain=float(rng.uniform(0.0, 0.05)) * (0.3 if night else 1.0),
            veil_sigma=float(rng.uniform(0.2, 0.5)),
            ghost_t=tuple(float(t) for t in rng.uniform(-1.6, 0.7, n_ghosts)),
            ghost_radius=tuple(loguniform(rng, 0.01, 0.08) for _ in range(n_ghosts)),
            ghost_gain=tuple(lerp(0.01, 0.08, s) * loguniform(rng, 0.5, 2.0) for _ in range(n_ghosts)),
            ghost_ring=tuple(bool(rng.random() < 0.3) for _ in range(n_ghosts)),
            ghost_tint=tuple(int(rng.integers(len(_GHOST_TINTS))) for _ in range(n_ghosts)),
            use_scene_source=bool(rng.random() < 0.85),
        )


def _scene_sources(lin: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Centroids of up to ``n`` saturated blobs (the lamps/sun already in the picture), largest first."""
    lum = lin @ LUMA
    bright = lum >= LIGHT_LUMINANCE
    labels, count = ndimage.label(bright)
    if count == 0:
        return []
    sizes = np.bincount(labels.ravel())[1:]
    keep = [int(i) for i in np.argsort(-sizes) if sizes[i] >= 4][: max(n * 3, 1)]
    if not keep:
        return []
    chosen = rng.permutation(keep)[:n]
    centres = ndimage.center_of_mass(bright, labels, [int(i) + 1 for i in chosen])
    return [(float(y), float(x)) for y, x in centres]


def _new_source(shape: tuple[int, int], night: bool, rng: np.random.Generator) -> tuple[float, float]:
    """A plausible added source: the sun in the upper part of a day frame, a lamp anywhere at night."""
    h, w = shape
    y = rng.uniform(0.05, 0.9 if night else 0.55) * h
    return float(y), float(rng.uniform(0.05, 0.95) * w)


def _core(r: np.ndarray, radius_px: float) -> np.ndarray:
    """Radial profile of a light's core (linear, before its colour): a saturating Gaussian spot."""
    return _CORE_GAIN * np.exp(-((r / radius_px) ** 2))


@dataclass(frozen=True)
class SceneLights:
    """Plain lights of a scene as a clean lens shows them: saturated spots with a source's size and colour, no
    glare, streaks or ghosts. Drawn like a flare's sources (the sun by day, one to three lamps at night, on a
    light of the photo when it has one), so a light alone says nothing about whether a flare is there."""

    variant: str  # "day" or "night"
    light: str  # key of _SOURCE_TINTS
    core_radius: float  # fraction of the short side
    centres: tuple[tuple[float, float], ...]  # (y, x) in pixels

    @classmethod
    def sample(cls, image: np.ndarray, rng: np.random.Generator) -> SceneLights:
        """Lights for ``image`` (float sRGB): on its own saturated blobs with probability 0.85 (as a flare's
        ``use_scene_source``), wherever a sun or a lamp plausibly is otherwise."""
        night = bool(rng.random() < 0.5)
        n, light, core_radius = _n_lights(rng, night), _light_kind(rng, night), _core_radius(rng, night)
        centres = _scene_sources(srgb_to_linear(as_rgb(image)), n, rng) if rng.random() < 0.85 else []
        while len(centres) < n:
            centres.append(_new_source(image.shape[:2], night, rng))
        return cls("night" if night else "day", light, core_radius, tuple(centres))

    def add_to(self, image: np.ndarray) -> np.ndarray:
        """``image`` (float sRGB) with the lights added in linear light and clipped like a sensor."""
        h, w = image.shape[:2]
        yy, xx = np.ogrid[:h, :w]
        radius_px = self.core_radius * min(h, w)
        spots = sum(_core(np.sqrt((yy - y) ** 2 + (xx - x) ** 2, dtype=np.float32), radius_px)
                    for y, x in self.centres)
        tint = np.asarray(_SOURCE_TINTS[self.light], np.float32)
        return linear_to_srgb(srgb_to_linear(as_rgb(image)) + spots[..., None] * tint)

    def to_json(self) -> dict:
        """For a sample's params (centres in pixels of the canvas they were drawn for)."""
        return asdict(self) | {"centres": [[round(y, 2), round(x, 2)] for y, x in self.centres]}


def _ray_table(rng: np.random.Generator, n: int = 1024) -> np.ndarray:
    """Random angular modulation in [0, 1]: many thin rays of random strength around the source."""
    spec = rng.normal(size=n // 2 + 1) + 1j * rng.normal(size=n // 2 + 1)
    spec *= 1.0 / (1.0 + np.arange(n // 2 + 1) / 40.0)
    spec[0] = 0
    rays = np.fft.irfft(spec, n)
    rays = (rays - rays.min()) / (np.ptp(rays) + 1e-8)
    return (rays**2).astype(np.float32)


def _polygon_radius(theta: np.ndarray, n: int, rotation: float) -> np.ndarray:
    """Radius of a unit-circumradius regular n-gon in direction ``theta`` (aperture-shaped ghosts)."""
    seg = 2 * np.pi / n
    a = np.mod(theta - rotation, seg) - seg / 2
    return np.cos(np.pi / n) / np.cos(a)


def _source_layer(shape: tuple[int, int], p: tuple[float, float], gain: float, prm: FlareParams,
                  rays: np.ndarray, core: bool = True) -> np.ndarray:
    """Core (unless the light is already in the scene), glare, streaks and veil of one source, (H, W, 3)
    linear, before the light's colour.

    All profiles are radial (or, for spikes, functions of the distance to a line), so they are tabulated once
    on a 1/4-px grid and looked up: this keeps a 512 px flare at a few milliseconds per source.
    """
    h, w = shape
    d = float(min(h, w))
    yy, xx = np.ogrid[:h, :w]
    dy = (yy - p[0]).astype(np.float32)
    dx = (xx - p[1]).astype(np.float32)
    r = np.sqrt(dy * dy + dx * dx)
    ridx = np.minimum((r * _TABLE_STEPS).astype(np.int32), int(np.hypot(h, w) * 2 * _TABLE_STEPS))
    rt = np.arange(ridx.max() + 1, dtype=np.float32) / _TABLE_STEPS
    ray = 1.0 + prm.ray_amount * (rays[((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * (rays.size - 1))
                                        .astype(np.int32)] - 0.5)
    veil = prm.veil_gain * np.exp(-0.5 * (rt / (prm.veil_sigma * d)) ** 2)
    base = _core(rt, prm.core_radius * d) + veil if core else veil
    # An n-blade aperture gives n spikes (n/2 lines through the source) for even n, 2n spikes (n lines) for odd n.
    n_lines = prm.n_blades // 2 if prm.n_blades % 2 == 0 else prm.n_blades
    ridge = np.exp(-0.5 * (np.arange(8 * _TABLE_STEPS, dtype=np.float32) / _TABLE_STEPS / prm.streak_width_px) ** 2)
    spikes = np.zeros((h, w), np.float32)
    for k in range(n_lines):
        a = prm.rotation + np.pi * k / n_lines
        perp = np.abs(dx * np.float32(np.sin(a)) - dy * np.float32(np.cos(a))) * _TABLE_STEPS
        spikes += ridge[np.minimum(perp.astype(np.int32), ridge.size - 1)]
    layer = np.empty((h, w, 3), np.float32)
    for c in range(3):
        halo = 0.6 * (1.0 + (rt / (prm.halo_radius * d * _LAMBDA[c])) ** 2) ** (-prm.halo_power)
        streak = prm.streak_gain * np.exp(-rt / (prm.streak_length * d * _LAMBDA[c]))
        layer[..., c] = base[ridx] + halo[ridx] * ray + streak[ridx] * spikes
    return gain * layer


def _ghost_layer(shape: tuple[int, int], p: tuple[float, float], prm: FlareParams) -> np.ndarray:
    """Aperture-shaped reflective ghosts on the line through the optical centre, (H, W, 3) linear."""
    h, w = shape
    d = float(min(h, w))
    c = np.array([(h - 1) / 2, (w - 1) / 2])
    out = np.zeros((h, w, 3), np.float32)
    for t, rad, g, ring, tint in zip(prm.ghost_t, prm.ghost_radius, prm.ghost_gain, prm.ghost_ring,
                                     prm.ghost_tint, strict=True):
        q = c + t * (np.asarray(p) - c)
        big_r = rad * d
        y0, y1 = int(max(0, np.floor(q[0] - big_r - 2))), int(min(h, np.ceil(q[0] + big_r + 2)))
        x0, x1 = int(max(0, np.floor(q[1] - big_r - 2))), int(min(w, np.ceil(q[1] + big_r + 2)))
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.ogrid[y0:y1, x0:x1]
        dy, dx = (yy - q[0]).astype(np.float32), (xx - q[1]).astype(np.float32)
        rr = np.sqrt(dy * dy + dx * dx) / big_r
        edge = _polygon_radius(np.arctan2(dy, dx), prm.n_blades, prm.rotation)
        soft = 0.12
        fill = np.clip((edge - rr) / (soft * edge) + 0.5, 0.0, 1.0)
        if ring:
            fill = fill * (0.25 + 0.75 * np.exp(-((edge - rr) / (0.08 * edge)) ** 2))
        out[y0:y1, x0:x1] += g * fill[..., None] * np.asarray(_GHOST_TINTS[tint], np.float32)
    return out


def synthesize(image: np.ndarray, rng: np.random.Generator, params: FlareParams | None = None,
               lights: SceneLights | None = None) -> SynthResult:
    """Add a lens flare to ``image`` (see module docstring for the model and the mask rule); with ``lights``
    (already in ``image``), the flare of those lights, whose kind, number and size then replace the params'."""
    src = as_rgb(image)
    prm = params if params is not None else FlareParams.sample(rng)
    lin = srgb_to_linear(src)
    shape = src.shape[:2]
    night = prm.variant == "night"
    if lights is not None:
        prm = replace(prm, variant=lights.variant, light=lights.light, core_radius=lights.core_radius,
                      n_sources=len(lights.centres), use_scene_source=True)
        sources = list(lights.centres)
    else:
        sources = _scene_sources(lin, prm.n_sources, rng) if prm.use_scene_source else []
    while len(sources) < prm.n_sources:
        sources.append(_new_source(shape, night, rng))
    rays = _ray_table(rng)
    tint = np.asarray(_SOURCE_TINTS[prm.light], np.float32)
    flare = np.zeros_like(lin)
    for i, p in enumerate(sources):
        gain = prm.intensity * (0.6**i)
        flare += _source_layer(shape, p, gain, prm, rays, core=lights is None) * tint
        if i == 0:
            flare += _ghost_layer(shape, p, prm) * tint * prm.intensity
    out = linear_to_srgb(lin + flare)
    mask = change_mask(mean_abs_change(out, src), _MASK_RULE)
    h, w = shape
    info = asdict(prm) | {"kind": "flare", "sources": [[y / h, x / w] for y, x in sources]}
    return SynthResult(image=out, mask=mask, severity=prm.severity, params=jsonable(info))
