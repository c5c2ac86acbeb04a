"""IPAD-Synth v2: ground truth that marks what a viewer can see, and severity that means visibility.

The mask rule compares each artifact image with its clean twin *as the viewer gets them* (both after the shared
finishing path: same crop, noise and JPEG quality) with ColorVideoVDP (Mantiuk et al., SIGGRAPH 2024), a
visible-difference predictor calibrated on human detection and quality data. Viewing condition: the image shown
at 100 % on a 24-inch full-HD desktop monitor (200 cd/m^2, office light, 0.6 m away: cvvdp's ``standard_fhd``).

Per pixel, cvvdp's raw heatmap is a JOD loss; we map it back to the predictor's contrast units, in which 1 is
one just-noticeable difference (JND), and write three levels: 255 where the change is visible
(>= ``visible_jnd``), 128 where it is uncertain (between ``uncertain_jnd`` and ``visible_jnd``; evaluation and
losses leave these pixels out), 0 where nothing visibly changed.

Severity is visibility: a sample of severity ``s`` has image quality ``JOD = jod_at(s)`` (10 = no visible
difference), the same line for every class. The synthesizer's artifact is drawn strong, then faded in linear
light (``lerp(clean, artifact, a)``: a flare's light, a ghost's opacity, a moire's modulation depth) until its
JOD meets the target. A draw whose artifact cannot reach the target, or shows too few visible pixels, is
redrawn, never labelled.

Lights belong to the scene. A flare's canvas always gets plain lights (:class:`~ipad_iqa.data.synth.flare.SceneLights`:
a sun or lamps, no glare) before synthesis, and the flare is synthesized around them, so its clean twin shows the
lights and the mask marks what the lens added; the canvases of the other labels, clean included, get the same
lights at ``LIGHT_RATE``. Measured before (``benchmarks/light_probe.py``): when only flare samples had a light,
the model learned to call a plain light flare.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import numpy as np
from scipy import ndimage

from ipad_iqa.data.pipeline import DEFAULT_FINISH, FinishConfig, Sample, _scene_canvas, finish, prepare_canvas
from ipad_iqa.data.synth import PARAMS, SYNTHESIZERS
from ipad_iqa.data.synth.common import linear_to_srgb, srgb_to_linear
from ipad_iqa.data.synth.flare import SceneLights
from ipad_iqa.data.synth.ghosting import DEFAULT_MODE_PROBS, Scene, only_mode, pick_mode

VISIBLE, UNCERTAIN, INVISIBLE = 255, 128, 0
# IPAD-Synth v2's mix of ghosting modes (motion, fusion, optical, reflection): reflections of another photo of
# the same scene split, the most common ghosting in real photos, are as frequent as moving objects.
V2_GHOSTING_MODES: tuple[float, float, float, float] = (0.35, 0.15, 0.15, 0.35)
MODE_STREAM = 0x6D0D  # last entry of the seed of a sample's ghosting mode (its attempts end in 0, 1, 2, ...)
# How a v2 sample's ghosting mode is drawn (``pinned_options``); benchmark and shard specs record it, so a folder
# written while retries could change the mode is refused rather than mixed with new samples.
GHOSTING_MODE_DRAW = "once per sample"
# Largest fade factor per class. Light adds, so a flare may be brightened past its draw (a brighter source);
# a ghost's opacity or a moire's modulation depth past the synthesizer's own maximum would not be physical.
MAX_FADE: dict[str, float] = {"ghosting": 1.0, "flare": 4.0, "moire": 1.0}
# Share of ghosting, moire and clean canvases given plain lights (a flare's canvas always has them): half, so a
# light is common without flare while most clean photos still show the scene as taken.
LIGHT_RATE = 0.5
# Share of canvases of every label whose scene is out of focus (the whole frame, or all but a sharp region: depth
# of field), so softness says nothing about the class. Measured before (``benchmarks/blur_probe.py``): a 1-px
# Gaussian defocus of a clean photo raised the shipped weights' P(ghosting) by 0.08, 4 px by 0.26.
DEFOCUS_RATE = 0.5


@dataclass(frozen=True)
class VisibilityRule:
    """How visibility is predicted and turned into masks and severities (IPAD-Synth v2's definition)."""

    display: str = "standard_fhd"  # cvvdp display model: 24" full-HD monitor, 200 cd/m^2, 250 lux, 0.6 m
    visible_jnd: float = 2.0  # at or above: visible artifact (255)
    uncertain_jnd: float = 0.5  # from here to visible_jnd: ignore band (128); below: no artifact (0)
    smooth_sigma: float = 1.0  # px; the heatmap is speckled on texture, a light blur makes regions
    min_visible_pixels: int = 64  # fewer visible pixels: not a visible artifact (the draw is redrawn)
    jod_at_0: float = 9.7  # image JOD of a just-noticeable sample (severity 0)
    jod_at_1: float = 7.5  # image JOD of a strong sample (severity 1)
    jod_tolerance: float = 0.1  # how close the fade must bring the JOD to its target
    max_evals: int = 5  # cvvdp runs per draw while fading
    max_draws: int = 12  # draws of synthesis parameters before giving up on a sample

    def jod_at(self, severity: float) -> float:
        """Target image JOD of a severity in [0, 1]."""
        return self.jod_at_0 + (self.jod_at_1 - self.jod_at_0) * severity

    def severity_of(self, jod: float) -> float:
        """Inverse of :meth:`jod_at`, clipped to [0, 1]."""
        return float(np.clip((jod - self.jod_at_0) / (self.jod_at_1 - self.jod_at_0), 0.0, 1.0))


DEFAULT_RULE = VisibilityRule()


def mask_levels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(visible, ignore) boolean maps of a stored mask: >= 192 visible, 64-191 the ignore band. A v1 mask
    (0 / 255) has no ignore band, so one reader serves both versions."""
    m = np.asarray(mask)
    return m >= 192, (m >= 64) & (m < 192)


class MissingPredictorError(ImportError):
    """cvvdp (ColorVideoVDP) is not installed; IPAD-Synth v2 needs it."""


def one_thread_per_process() -> None:
    """Synthesis runs one process per core: cvvdp's many small tensor operations only spin extra threads
    (measured: two threads per process ran the shard writer at half speed)."""
    import torch

    torch.set_num_threads(1)


@contextmanager
def synthesis_threads() -> Iterator[None]:
    """One thread while synthesizing in this process, the caller's setting restored afterwards."""
    import torch

    before = torch.get_num_threads()
    one_thread_per_process()
    try:
        yield
    finally:
        torch.set_num_threads(before)


@cache
def _metric(display: str) -> Any:
    """One cvvdp metric per display and process (its CSF tables load once)."""
    try:
        import pycvvdp
        import torch
    except ImportError as err:
        raise MissingPredictorError(
            "IPAD-Synth v2 labels visibility with ColorVideoVDP: pip install 'ipad-iqa[synth]' (or cvvdp)") from err
    return pycvvdp.cvvdp(display_name=display, heatmap="raw", quiet=True, device=torch.device("cpu"))


def predict_visibility(test: np.ndarray, reference: np.ndarray, rule: VisibilityRule = DEFAULT_RULE
                       ) -> tuple[np.ndarray, float]:
    """Per-pixel visible difference (H, W) in JND units and the image JOD of uint8 ``test`` vs ``reference``."""
    import torch

    metric = _metric(rule.display)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jod, stats = metric.predict(torch.from_numpy(np.ascontiguousarray(test)),
                                    torch.from_numpy(np.ascontiguousarray(reference)), dim_order="HWC")
    heat = stats["heatmap"][0, 0, 0].float().numpy()
    return jod_loss_to_jnd(heat, float(metric.jod_a), float(metric.jod_exp)), float(jod)


def jod_loss_to_jnd(loss: np.ndarray, jod_a: float, jod_exp: float) -> np.ndarray:
    """cvvdp's per-pixel JOD loss back to its contrast units (1 = one JND): the inverse of its ``met2jod``,
    which is linear below 0.1 JND and a power law above."""
    q_t = 0.1
    slope = jod_a * q_t ** (jod_exp - 1.0)
    knee = slope * q_t
    loss = np.maximum(loss.astype(np.float64), 0.0)
    out = np.where(loss <= knee, loss / slope, (loss / jod_a) ** (1.0 / jod_exp))
    return out.astype(np.float32)


def three_level_mask(jnd: np.ndarray, rule: VisibilityRule = DEFAULT_RULE) -> np.ndarray:
    """uint8 mask: 255 visible, 128 uncertain, 0 invisible.

    Visible regions smaller than ``min_visible_pixels`` become uncertain (a speck is neither taught nor scored);
    no pixel is ever moved to 0 by the clean-up.
    """
    d = ndimage.gaussian_filter(jnd, rule.smooth_sigma) if rule.smooth_sigma > 0 else jnd
    mask = np.where(d >= rule.uncertain_jnd, UNCERTAIN, INVISIBLE).astype(np.uint8)
    visible = d >= rule.visible_jnd
    labels, n = ndimage.label(visible)
    if n:
        sizes = np.bincount(labels.ravel())
        keep = sizes >= rule.min_visible_pixels
        keep[0] = False
        visible = keep[labels]
    mask[visible] = VISIBLE
    return mask


@dataclass(frozen=True)
class Faded:
    """An artifact faded to its target visibility: finished image, visibility and the fade factor used."""

    image: np.ndarray  # (H, W, 3) uint8, finished
    jnd: np.ndarray  # (H, W) float32, per-pixel visible difference from the finished twin
    jod: float
    fade: float


def fade_to_jod(clean: np.ndarray, artifact: np.ndarray, twin: np.ndarray, finish: Any, target: float,
                rule: VisibilityRule = DEFAULT_RULE, max_fade: float = 1.0) -> Faded:
    """Fade ``artifact`` toward ``clean`` (float sRGB canvases) in linear light until the finished image's JOD
    against the finished ``twin`` is within ``jod_tolerance`` of ``target``; returns the closest try. A factor
    above 1 (up to ``max_fade``) strengthens the artifact instead.

    ``finish(image) -> uint8`` must apply the same noise and JPEG draws on every call. The JOD loss grows
    about as a power of the fade factor, so each step solves that power law through the last two tries.
    """
    lin_c, lin_a = srgb_to_linear(clean), srgb_to_linear(artifact)

    def run(fade: float) -> Faded:
        image = finish(linear_to_srgb(lin_c + np.float32(fade) * (lin_a - lin_c)))
        jnd, jod = predict_visibility(image, twin, rule)
        return Faded(image, jnd, jod, fade)

    want = max(10.0 - target, 1e-3)  # JOD loss to reach
    tries = [run(1.0)]
    power = 1.0
    while len(tries) < rule.max_evals:
        last = tries[-1]
        if abs(last.jod - target) <= rule.jod_tolerance or (last.fade >= max_fade and last.jod > target):
            break  # on target, or even the strongest allowed draw is too faint
        loss = max(10.0 - last.jod, 1e-4)
        if len(tries) >= 2:
            prev = tries[-2]
            prev_loss = max(10.0 - prev.jod, 1e-4)
            if prev.fade != last.fade and prev_loss != loss:
                power = float(np.clip(math.log(prev_loss / loss) / math.log(prev.fade / last.fade), 0.3, 3.0))
        fade = float(np.clip(last.fade * (want / loss) ** (1.0 / power), 1e-3, max_fade))
        tries.append(run(fade))
    return min(tries, key=lambda t: abs(t.jod - target))


class InvisibleArtifactError(ValueError):
    """No draw of the synthesizer reached a visible artifact of the wanted severity on this canvas."""


@dataclass(frozen=True)
class _Base:
    """What a sample's artifact is drawn on: the canvas (lights included), its finished twin and the streams.
    (Not the reflected ``Scene`` of ghosting, which is another photo.)"""

    canvas: np.ndarray
    twin: np.ndarray
    finish_draws: dict
    lights: SceneLights | None
    streams: tuple[np.random.SeedSequence, ...]  # synthesis, finishing, reflected scene, severity


def _base(source: np.ndarray, label: str, seed: tuple[int, ...], size: int, cfg: FinishConfig) -> _Base:
    """Canvas, lights, synthesis draws, finishing, the reflected scene and the severity come from independent
    child streams of ``seed`` (the lights' stream is the sixth, so the first five are as before lights)."""
    streams = np.random.SeedSequence(list(seed)).spawn(7)  # children do not depend on how many are spawned
    canvas_ss, synth_ss, finish_ss, scene_ss, severity_ss, light_ss, defocus_ss = streams
    canvas = prepare_canvas(source, size, np.random.default_rng(canvas_ss), cfg)
    rng = np.random.default_rng(light_ss)
    lights = None
    if rng.random() < LIGHT_RATE or label == "flare":
        lights = SceneLights.sample(canvas, rng)
        canvas = lights.add_to(canvas)
    rng = np.random.default_rng(defocus_ss)
    if rng.random() < DEFOCUS_RATE:
        canvas = add_defocus(canvas, rng)
    twin, draws = finish(canvas, np.random.default_rng(finish_ss), cfg)
    return _Base(canvas, twin, draws, lights, (synth_ss, finish_ss, scene_ss, severity_ss))


def add_defocus(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` (float sRGB) out of focus: a Gaussian blur in linear light of sigma 0.5-4 px (log-uniform), over
    the whole frame or, half the time, outside a sharp elliptical region with a soft edge (a focused subject)."""
    h, w = image.shape[:2]
    sigma = float(np.exp(rng.uniform(np.log(0.5), np.log(4.0))))
    lin = srgb_to_linear(image)
    blurred = ndimage.gaussian_filter(lin, (sigma, sigma, 0))
    if rng.random() < 0.5:
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
        ry, rx = rng.uniform(0.15, 0.5) * h, rng.uniform(0.15, 0.5) * w
        yy, xx = np.ogrid[:h, :w]
        r = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
        sharp = np.clip((1.3 - r) / 0.6, 0.0, 1.0).astype(np.float32)[..., None]  # 1 inside, 0 beyond 1.3 radii
        blurred = sharp * lin + (1.0 - sharp) * blurred
    return linear_to_srgb(np.clip(blurred, 0.0, 1.0)).astype(np.float32)


def _base_params(base: _Base) -> dict:
    """The params every v2 sample records of its base: finishing draws, and its lights when it has any."""
    return {"finish": base.finish_draws} | ({} if base.lights is None else {"lights": base.lights.to_json()})


def clean_twin(source: np.ndarray, label: str, seed: tuple[int, ...], size: int,
               cfg: FinishConfig = DEFAULT_FINISH) -> Sample:
    """The clean twin of the ``label`` sample of ``seed``: its canvas and lights through the same finishing draws,
    what the mask rule compared with. For ``label="clean"`` it is that clean sample."""
    base = _base(source, label, seed, size, cfg)
    return Sample(image=base.twin, mask=np.zeros(base.canvas.shape[:2], np.uint8), label="clean", severity=0.0,
                  params=_base_params(base), jod=10.0)


def pinned_options(label: str, seed: tuple[int, ...], options: Mapping[str, Mapping[str, Any]] | None
                   ) -> dict[str, Mapping[str, Any]]:
    """``synth_options`` for every attempt at the sample of ``seed`` (its photos or seeds tried in turn): a
    ghosting sample's mode is drawn here once, from the sample's own stream, so a mode that shows less often
    (fusion, optical) is retried as itself and the data keep the mix of ``mode_probs``."""
    out = dict(options or {})
    if label == "ghosting":
        ghost = dict(out.get("ghosting", {}))
        probs = ghost.get("mode_probs", DEFAULT_MODE_PROBS)
        ghost["mode_probs"] = only_mode(pick_mode(np.random.default_rng([*seed, MODE_STREAM]), probs))
        out["ghosting"] = ghost
    return out


def render_visible_sample(source: np.ndarray, label: str, seed: tuple[int, ...], size: int,
                          severity_range: tuple[float, float] = (0.0, 1.0), cfg: FinishConfig = DEFAULT_FINISH,
                          rule: VisibilityRule = DEFAULT_RULE,
                          synth_options: Mapping[str, Mapping[str, Any]] | None = None,
                          scene: Scene | None = None) -> Sample:
    """IPAD-Synth v2 sample: canvas and lights -> strong synthesis -> fade to the severity's JOD -> finishing,
    with the three-level visibility mask; deterministic in ``seed``. Its twin is :func:`clean_twin`.

    Raises :class:`InvisibleArtifactError` when ``max_draws`` draws of the synthesizer all fail to reach the
    target (e.g. ghosting on a featureless sky). Each draw draws its ghosting mode anew from ``synth_options``:
    datasets pass :func:`pinned_options`, which fix a sample's mode for all its draws and seeds.
    """
    if label == "clean":
        return clean_twin(source, label, seed, size, cfg)
    options = (synth_options or {}).get(label, {})
    base = _base(source, label, seed, size, cfg)
    canvas, twin = base.canvas, base.twin
    synth_ss, finish_ss, scene_ss, severity_ss = base.streams
    severity = float(np.random.default_rng(severity_ss).uniform(*severity_range))
    target = rule.jod_at(severity)
    synth = SYNTHESIZERS[label]
    if label == "ghosting" and scene is not None:
        synth = partial(synth, scene=cache(partial(_scene_canvas, scene, size, scene_ss, cfg)))
    if label == "flare":
        synth = partial(synth, lights=base.lights)

    def finished(image: np.ndarray) -> np.ndarray:
        return finish(image, np.random.default_rng(finish_ss), cfg)[0]

    best: tuple[float, Faded, np.ndarray, dict] | None = None
    for draw, ss in enumerate(synth_ss.spawn(rule.max_draws), start=1):
        rng = np.random.default_rng(ss)
        # the synthesizer's own severity shapes the draw (sizes, offsets, ghost counts); drawn strong, so that
        # fading can reach any target, and stronger with every failed draw
        strength = min(1.0, float(rng.uniform(0.4, 1.0)) + 0.05 * (draw - 1))
        res = synth(canvas, rng, PARAMS[label].sample(rng, strength, **options))
        faded = fade_to_jod(canvas, res.image, twin, finished, target, rule, MAX_FADE[label])
        mask = three_level_mask(faded.jnd, rule)
        miss = abs(faded.jod - target)
        visible = int((mask == VISIBLE).sum()) >= rule.min_visible_pixels
        if visible and (best is None or miss < best[0]):
            best = (miss, faded, mask, res.params | {"draws": draw, "strength": strength})
        if visible and miss <= rule.jod_tolerance:
            break
    if best is None or best[0] > 2 * rule.jod_tolerance:
        raise InvisibleArtifactError(
            f"{label}: no visible draw at JOD {target:.2f} (severity {severity:.2f}) in {rule.max_draws} draws")
    _, faded, mask, params = best
    params |= {"fade": round(faded.fade, 6), "target_jod": round(target, 4),
               "visible_fraction": round(float((mask == VISIBLE).mean()), 6)} | _base_params(base)
    return Sample(image=faded.image, mask=mask, label=label, severity=rule.severity_of(faded.jod), params=params,
                  jod=faded.jod)
