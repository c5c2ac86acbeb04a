"""Contract of every synthesizer: determinism, value range, sizes, input kinds, and mask/change agreement."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ipad_iqa.data.synth import PARAMS, SYNTHESIZERS
from ipad_iqa.data.synth.common import SynthResult, as_rgb, change_mask
from ipad_iqa.output import ARTIFACT_CLASSES


def _run(name: str, image: np.ndarray, seed: int, severity: float | None = None):
    rng = np.random.default_rng(seed)
    return SYNTHESIZERS[name](image, rng, PARAMS[name].sample(rng, severity))


def test_registry_keys():
    assert set(SYNTHESIZERS) == {"ghosting", "flare", "moire"} == set(ARTIFACT_CLASSES)


@pytest.mark.parametrize("name", ARTIFACT_CLASSES)
def test_deterministic_and_in_range(name, photos):
    a = _run(name, photos["astronaut"], 7)
    b = _run(name, photos["astronaut"], 7)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.image.dtype == np.float32 and a.image.shape == photos["astronaut"].shape
    assert a.mask.dtype == bool and a.mask.shape == a.image.shape[:2]
    assert 0.0 <= a.image.min() and a.image.max() <= 1.0
    assert 0.0 <= a.severity <= 1.0
    assert json.loads(json.dumps(a.params)) == a.params
    c = _run(name, photos["astronaut"], 8)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("name", ARTIFACT_CLASSES)
def test_params_none_samples_from_rng(name, photos):
    a = SYNTHESIZERS[name](photos["coffee"], np.random.default_rng(3), None)
    b = SYNTHESIZERS[name](photos["coffee"], np.random.default_rng(3), None)
    np.testing.assert_array_equal(a.image, b.image)


@pytest.mark.parametrize("name", ARTIFACT_CLASSES)
@pytest.mark.parametrize("seed", range(4))
def test_mask_holds_the_change(name, seed, photos):
    """>= 80% of the absolute change lies in the mask, and the mask is mostly made of changed pixels."""
    img = list(photos.values())[seed % len(photos)]
    res = _run(name, img, 100 + seed, severity=[0.05, 0.35, 0.65, 0.95][seed])
    change = np.abs(res.image - img).mean(axis=2)
    assert res.mask.any(), "artifact left no mask"
    assert (change * res.mask).sum() >= 0.8 * change.sum()
    from scipy import ndimage

    touched = ndimage.binary_dilation(change > 0.5 / 255, iterations=3)
    assert (res.mask & ~touched).sum() <= 0.05 * res.mask.sum(), "mask covers untouched area"


@pytest.mark.parametrize("name", ARTIFACT_CLASSES)
@pytest.mark.parametrize("shape", [(64, 64), (64, 150), (97, 70)])
def test_any_size(name, shape):
    img = np.random.default_rng(0).uniform(0.2, 0.8, (*shape, 3)).astype(np.float32)
    res = _run(name, img, 1)
    assert res.image.shape == (*shape, 3) and res.mask.shape == shape


@pytest.mark.parametrize("name", ARTIFACT_CLASSES)
def test_grayscale_and_rgba(name, photos):
    gray = photos["astronaut"].mean(axis=2)
    assert _run(name, gray, 2).image.shape == (*gray.shape, 3)
    rgba = np.concatenate([photos["astronaut"], np.ones((*gray.shape, 1), np.float32)], axis=2)
    np.testing.assert_array_equal(_run(name, rgba, 2).image, _run(name, photos["astronaut"], 2).image)


def test_input_handling():
    rgba = np.zeros((64, 64, 4), np.float32)
    np.testing.assert_allclose(as_rgb(rgba), 0.5)  # fully transparent -> mid grey
    assert as_rgb(np.full((64, 64), 255, np.uint8)).max() == 1.0
    with pytest.raises(ValueError):
        as_rgb(np.zeros((32, 80, 3), np.float32))


def test_change_mask_rule():
    energy = np.zeros((100, 100), np.float32)
    energy[40:60, 40:60] = 0.05
    mask = change_mask(energy)
    assert mask[45:55, 45:55].all() and not mask[:30].any()
    assert not change_mask(np.zeros((64, 64), np.float32)).any()


@pytest.mark.parametrize("name", ARTIFACT_CLASSES)
def test_severity_orders_strength(name, photos):
    """Mean change grows with severity (averaged over seeds): severity means something."""
    def strength(sev: float) -> float:
        return float(np.mean([np.abs(_run(name, photos["rocket"], s, sev).image - photos["rocket"]).mean()
                              for s in range(6)]))
    assert strength(0.05) < strength(0.95)


def test_params_sample_rejects_bad_severity():
    with pytest.raises(ValueError):
        PARAMS["flare"].sample(np.random.default_rng(0), 1.5)


REFLECTION_ONLY = (0.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("seed", range(3))
def test_ghosting_reflection_mode_obeys_the_contract(seed, photos):
    """The opt-in reflection mode: deterministic, in range, and its mask holds the change like every mode."""
    img = list(photos.values())[seed]

    def run() -> SynthResult:
        rng = np.random.default_rng(300 + seed)
        prm = PARAMS["ghosting"].sample(rng, [0.2, 0.5, 0.9][seed], mode_probs=REFLECTION_ONLY)
        return SYNTHESIZERS["ghosting"](img, rng, prm)

    res, again = run(), run()
    np.testing.assert_array_equal(res.image, again.image)
    assert res.params["mode"] == "reflection" and 0.4 <= res.params["echo"] <= 0.9
    assert 0.0 <= res.image.min() and res.image.max() <= 1.0
    change = np.abs(res.image - img).mean(axis=2)
    assert res.mask.any() and (change * res.mask).sum() >= 0.8 * change.sum()
    assert json.loads(json.dumps(res.params)) == res.params


def test_ghosting_reflection_of_another_scene(photos):
    """A given scene replaces the turned copy: another image, mirrored, still inside the mask; other modes and
    a scene of the wrong size are handled."""
    img, other = photos["astronaut"], photos["rocket"]

    def run(scene: np.ndarray | None, modes=REFLECTION_ONLY) -> SynthResult:
        rng = np.random.default_rng(11)
        return SYNTHESIZERS["ghosting"](img, rng, PARAMS["ghosting"].sample(rng, 0.8, mode_probs=modes), scene=scene)

    own, refl = run(None), run(other)
    assert refl.params["scene"] == "other" and "scene_roll" not in refl.params and "scene" not in own.params
    assert np.abs(refl.image - own.image).max() > 0.02
    change = np.abs(refl.image - img).mean(axis=2)
    assert refl.mask.any() and (change * refl.mask).sum() >= 0.8 * change.sum()
    motion = (1.0, 0.0, 0.0, 0.0)
    np.testing.assert_array_equal(run(other, motion).image, run(None, motion).image)  # only reflections use it
    with pytest.raises(ValueError, match="must match"):
        run(other[:100])


def test_ghosting_scene_as_a_function_is_called_only_for_reflections(photos):
    """A lazy scene gives the array's bytes, is never called by the other modes, and is checked when called."""
    img, other = photos["astronaut"], photos["rocket"]
    calls: list[int] = []

    def lazy(picture: np.ndarray):
        def load() -> np.ndarray:
            calls.append(1)
            return picture
        return load

    def run(scene, modes) -> SynthResult:
        rng = np.random.default_rng(11)
        return SYNTHESIZERS["ghosting"](img, rng, PARAMS["ghosting"].sample(rng, 0.8, mode_probs=modes), scene=scene)

    np.testing.assert_array_equal(run(lazy(other), REFLECTION_ONLY).image, run(other, REFLECTION_ONLY).image)
    assert len(calls) == 1
    run(lazy(other), (0.5, 0.25, 0.25, 0.0))
    assert len(calls) == 1
    with pytest.raises(ValueError, match="must match"):
        run(lazy(other[:100]), REFLECTION_ONLY)


def test_ghosting_default_modes_are_the_v1_mix():
    """Without mode_probs reflection is never drawn (IPAD-Synth v1 is written that way); the others all are."""
    modes = {PARAMS["ghosting"].sample(np.random.default_rng(s)).mode for s in range(200)}
    assert modes == {"motion", "fusion", "optical"}
    only = {PARAMS["ghosting"].sample(np.random.default_rng(s), mode_probs=REFLECTION_ONLY).mode for s in range(20)}
    assert only == {"reflection"}


@pytest.mark.parametrize("probs", [(1.0, 0.0, 0.0), (0.5, -0.1, 0.3, 0.3), (0.0, 0.0, 0.0, 0.0),
                                   (float("nan"), 0.2, 0.2, 0.2)])
def test_ghosting_bad_mode_probs_are_named(probs):
    with pytest.raises(ValueError, match="ghosting mode probabilities"):
        PARAMS["ghosting"].sample(np.random.default_rng(0), mode_probs=probs)
