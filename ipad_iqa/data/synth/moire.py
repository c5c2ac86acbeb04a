"""Screen-capture moire: a photographed RGB sub-pixel display, sampled by a Bayer sensor.

Physical model. A display emits the picture through a periodic sub-pixel mosaic: vertical R, G, B stripes of
pitch ``p`` (each colour's stripe offset by ``p/3``) and a black matrix between pixel rows. Its fundamental
frequencies, after the camera's projective view and radial lens distortion, land close to the sensor's
sampling frequency; point sampling at pixel centres then folds them down to low-frequency *alias fringes*,
period ``1 / |f - n|`` for grid frequency ``f`` and nearest sampling-lattice vector ``n`` (the known
``p / (2 sin(theta/2))`` and ``p1 p2 / |p1 - p2|`` laws are special cases). We therefore sample the fringe period
``T`` and orientation directly and set ``f = n + (1/T) e(phi)``, so every period and angle seen in real captures
is reachable; the warp makes fringes curve and change period across the frame exactly as real ones do.

Pipeline (linear light, at the output resolution): modulation ``M_c(x) = (1 + a cos(Phi_1(x) - psi_c))
(1 + a b cos(Phi_2(x)))`` with ``Phi_i = 2 pi f_i . W(x)`` for the warp ``W`` (homography + radial distortion)
and sub-pixel phases ``psi_c = (0, 2pi/3, 4pi/3) * chroma`` -> captured ``J = I M`` -> RGGB CFA sampling ->
bilinear demosaic (adds the sensor's own colour aliasing) -> mild ISP smoothing. Because the CFA/demosaic path
is linear, the moire component is ``dem(CFA(I (M - 1)))``; adding it to ``I`` gives the capture *aligned* with
the clean picture, so nothing but the moire differs (noise and JPEG are added to every label by the shared
finishing path, ``ipad_iqa.data.pipeline``). Optionally the display covers only a quadrilateral part of the frame
(a screen inside a larger photo).

**Mask rule**: band-pass energy of the aligned difference, ``|D - G_{2T} * D|`` smoothed over half a fringe
period (so fringe troughs count), restricted to the screen, then ``common.change_mask``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from ipad_iqa.data.synth.common import (
    SynthResult,
    as_rgb,
    change_mask,
    fft_gaussian,
    jsonable,
    lerp,
    linear_to_srgb,
    loguniform,
    sample_severity,
    srgb_to_linear,
)

# Sampling-lattice vectors (cycles/px) the display's fundamental can fold onto.
_LATTICE = ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, -1.0))
_BILINEAR_G = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4.0
_BILINEAR_RB = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4.0


@dataclass(frozen=True)
class MoireParams:
    """Screen-capture parameters; ``warp_*`` are in units of the image's short side."""

    severity: float
    amplitude: float  # modulation depth of the sub-pixel grating after the lens/pixel MTF
    period_px: float  # main fringe period T
    orientation: float  # radians
    lattice: int  # index into _LATTICE
    row_amount: float  # relative strength of the black-matrix (row) grating
    row_period_px: float
    row_orientation: float
    chroma: float  # 0 = grey fringes, 1 = full rainbow sub-pixel phase offsets
    warp_perspective: tuple[float, float]
    warp_rotation: float
    warp_scale: float
    radial_k1: float
    cfa: bool
    isp_sigma: float
    local: bool  # display covers only part of the frame
    screen: tuple[float, ...]  # 4 corners (y, x) as fractions, used when local

    @classmethod
    def sample(cls, rng: np.random.Generator, severity: float | None = None, fine_grey: float = 0.0) -> MoireParams:
        """Draw parameters; severity sets the fringe contrast, everything else is free variety. With probability
        ``fine_grey`` the main period is redrawn on [3, 8] px and the chroma on [0.2, 0.5] (0: no extra draw)."""
        s = sample_severity(rng, severity)
        cy, cx = rng.uniform(0.3, 0.7, 2)
        hy, hx = rng.uniform(0.18, 0.4, 2)
        corners = np.array([[cy - hy, cx - hx], [cy - hy, cx + hx], [cy + hy, cx + hx], [cy + hy, cx - hx]])
        corners += rng.uniform(-0.06, 0.06, corners.shape)
        theta = float(rng.uniform(0, np.pi))
        prm = cls(
            severity=s,
            amplitude=lerp(0.03, 0.35, s) * loguniform(rng, 0.8, 1.25),
            period_px=loguniform(rng, 3.0, 80.0),
            orientation=theta,
            lattice=int(rng.integers(len(_LATTICE))),
            row_amount=float(rng.uniform(0.0, 0.8)),
            row_period_px=loguniform(rng, 3.0, 120.0),
            row_orientation=theta + np.pi / 2 + float(rng.normal(0, 0.2)),
            chroma=float(rng.uniform(0.2, 1.0)),
            warp_perspective=(float(rng.normal(0, 0.04)), float(rng.normal(0, 0.04))),
            warp_rotation=float(rng.normal(0, 0.01)),
            warp_scale=float(rng.normal(0, 0.01)),
            radial_k1=float(rng.normal(0, 0.03)),
            cfa=bool(rng.random() < 0.8),
            isp_sigma=float(rng.uniform(0.0, 0.8)),
            local=bool(rng.random() < 0.5),
            screen=tuple(float(v) for v in np.clip(corners, 0.02, 0.98).ravel()),
        )
        if fine_grey > 0 and rng.random() < fine_grey:
            prm = replace(prm, period_px=loguniform(rng, 3.0, 8.0), chroma=float(rng.uniform(0.2, 0.5)))
        return prm


def _screen_coords(shape: tuple[int, int], prm: MoireParams) -> tuple[np.ndarray, np.ndarray]:
    """Display coordinates (px) seen at each sensor pixel: radial distortion then a near-identity homography."""
    h, w = shape
    d = float(min(h, w))
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    yn, xn = (yy - (h - 1) / 2) / d, (xx - (w - 1) / 2) / d
    radial = 1.0 + prm.radial_k1 * (yn * yn + xn * xn)
    yn, xn = yn * radial, xn * radial
    c, s = np.cos(prm.warp_rotation), np.sin(prm.warp_rotation)
    k = 1.0 + prm.warp_scale
    den = 1.0 + prm.warp_perspective[0] * yn + prm.warp_perspective[1] * xn
    u = k * (c * yn - s * xn) / den
    v = k * (s * yn + c * xn) / den
    return u * d, v * d


def _grid_frequency(period: float, angle: float, lattice: int) -> np.ndarray:
    """Display grid frequency (cycles/px, (y, x)) whose alias has the requested period and orientation."""
    return np.asarray(_LATTICE[lattice]) + np.array([np.sin(angle), np.cos(angle)]) / period


def _cfa_demosaic(x: np.ndarray) -> np.ndarray:
    """RGGB Bayer sampling followed by bilinear demosaicking (linear, so it can act on the moire term alone)."""
    h, w, _ = x.shape
    sel = np.zeros((h, w, 3), np.float32)
    sel[0::2, 0::2, 0] = 1
    sel[0::2, 1::2, 1] = 1
    sel[1::2, 0::2, 1] = 1
    sel[1::2, 1::2, 2] = 1
    out = np.empty_like(x)
    for c, k in enumerate((_BILINEAR_RB, _BILINEAR_G, _BILINEAR_RB)):
        out[..., c] = ndimage.convolve(x[..., c] * sel[..., c], k, mode="mirror")
    return out


def _screen_region(shape: tuple[int, int], corners: tuple[float, ...]) -> np.ndarray:
    """Binary quadrilateral of the display inside the frame."""
    h, w = shape
    pts = [(corners[i + 1] * w, corners[i] * h) for i in range(0, 8, 2)]
    canvas = Image.new("L", (w, h), 0)
    ImageDraw.Draw(canvas).polygon(pts, fill=1)
    return np.asarray(canvas, dtype=bool)


def synthesize(image: np.ndarray, rng: np.random.Generator, params: MoireParams | None = None) -> SynthResult:
    """Add screen-capture moire to ``image`` (see module docstring for the model and the mask rule)."""
    src = as_rgb(image)
    prm = params if params is not None else MoireParams.sample(rng)
    lin = srgb_to_linear(src)
    shape = src.shape[:2]
    u, v = _screen_coords(shape, prm)
    f1 = _grid_frequency(prm.period_px, prm.orientation, prm.lattice)
    f2 = _grid_frequency(prm.row_period_px, prm.row_orientation, (prm.lattice + 1) % len(_LATTICE))
    phi1 = 2 * np.pi * (f1[0] * u + f1[1] * v)
    rows = 1.0 + prm.amplitude * prm.row_amount * np.cos(2 * np.pi * (f2[0] * u + f2[1] * v))
    region = _screen_region(shape, prm.screen) if prm.local else np.ones(shape, bool)
    mod = np.empty_like(lin)
    for c in range(3):
        psi = 2 * np.pi * c / 3 * prm.chroma
        mod[..., c] = ((1.0 + prm.amplitude * np.cos(phi1 - psi)) * rows - 1.0) * region
    delta = lin * mod
    if prm.cfa:
        delta = _cfa_demosaic(delta)
    if prm.isp_sigma > 0:
        delta = ndimage.gaussian_filter(delta, (prm.isp_sigma, prm.isp_sigma, 0))
    out = linear_to_srgb(lin + delta)
    diff = out - src
    band = np.mean([np.abs(diff[..., c] - fft_gaussian(diff[..., c], 2 * prm.period_px)) for c in range(3)], axis=0)
    energy = fft_gaussian(band, prm.period_px / 2)
    mask = change_mask(energy, region=ndimage.binary_dilation(region, iterations=2))
    info = asdict(prm) | {"kind": "moire", "grid_frequency": [float(f) for f in f1]}
    return SynthResult(image=out, mask=mask, severity=prm.severity, params=jsonable(info))
