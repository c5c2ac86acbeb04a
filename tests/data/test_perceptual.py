"""IPAD-Synth v2's perceptual ground truth: masks of what a viewer sees, severity as visibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ipad_iqa.data import benchmark, perceptual
from ipad_iqa.data.perceptual import (
    DEFAULT_RULE,
    LIGHT_RATE,
    UNCERTAIN,
    VISIBLE,
    InvisibleArtifactError,
    clean_twin,
    fade_to_jod,
    jod_loss_to_jnd,
    pinned_options,
    predict_visibility,
    render_visible_sample,
    three_level_mask,
)
from ipad_iqa.data.pipeline import finish
from ipad_iqa.data.synth.ghosting import MODES

pytest.importorskip("pycvvdp")


def _textured(seed: int = 0, size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = 0.45 + 0.1 * rng.standard_normal((size // 8, size // 8, 3))
    return np.clip(np.kron(base, np.ones((8, 8, 1))), 0, 1).astype(np.float32)


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


def test_invisible_change_gives_no_visible_pixel_and_a_strong_one_does() -> None:
    ref = _textured()
    faint, strong = ref.copy(), ref.copy()
    faint[40:80, 40:80] += 0.6 / 255  # below one grey level on a textured scene
    strong[40:80, 40:80] += 40 / 255
    jnd_faint, jod_faint = predict_visibility(_u8(faint), _u8(ref))
    jnd_strong, jod_strong = predict_visibility(_u8(strong), _u8(ref))
    assert not (three_level_mask(jnd_faint) == VISIBLE).any()
    strong_mask = three_level_mask(jnd_strong)
    assert (strong_mask[45:75, 45:75] == VISIBLE).mean() > 0.9
    assert (strong_mask[:20, :20] == 0).all()  # nothing changed there
    assert jod_strong < jod_faint <= 10.0


def test_three_level_mask_levels_and_specks() -> None:
    jnd = np.zeros((64, 64), np.float32)
    jnd[10:30, 10:30] = 5.0  # visible region
    jnd[40:60, 40:60] = 1.0  # uncertain
    jnd[5, 50] = 9.0  # a one-pixel speck: never a visible region of its own, never dropped to 0 either
    mask = three_level_mask(jnd)
    assert mask[20, 20] == VISIBLE and mask[50, 50] == UNCERTAIN and mask[0, 0] == 0
    assert mask[5, 50] in (UNCERTAIN,)


def test_jnd_conversion_inverts_cvvdp() -> None:
    from ipad_iqa.data.perceptual import _metric

    metric = _metric(DEFAULT_RULE.display)
    q = torch.tensor([0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 10.0])
    loss = (10.0 - metric.met2jod(q)).numpy()
    back = jod_loss_to_jnd(loss, float(metric.jod_a), float(metric.jod_exp))
    np.testing.assert_allclose(back, q.numpy(), rtol=2e-3)  # float32 JOD near 10


def test_fade_reaches_the_target_jod() -> None:
    clean = _textured(1)
    art = clean.copy()
    art[30:90, 30:90] = np.clip(art[30:90, 30:90] + 0.25, 0, 1)
    rng_state = np.random.SeedSequence(3)

    def fin(img: np.ndarray) -> np.ndarray:
        return finish(img, np.random.default_rng(rng_state))[0]

    twin = fin(clean)
    out = fade_to_jod(clean, art, twin, fin, target=9.0)
    assert abs(out.jod - 9.0) <= DEFAULT_RULE.jod_tolerance
    assert 0 < out.fade < 1


def test_rendered_sample_is_visible_deterministic_and_its_twin_is_the_clean_render(photos) -> None:
    src = photos["astronaut"]
    a = render_visible_sample(src, "flare", (1, 2), 128)
    b = render_visible_sample(src, "flare", (1, 2), 128)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert set(np.unique(a.mask)) <= {0, UNCERTAIN, VISIBLE}
    assert (a.mask == VISIBLE).sum() >= DEFAULT_RULE.min_visible_pixels
    assert DEFAULT_RULE.jod_at_1 - 0.3 <= a.jod <= DEFAULT_RULE.jod_at_0 + 0.3
    assert a.severity == pytest.approx(DEFAULT_RULE.severity_of(a.jod))
    twin = clean_twin(src, "flare", (1, 2), 128)
    assert twin.jod == 10.0 and not twin.mask.any()
    _, jod = predict_visibility(a.image, twin.image)
    assert jod == pytest.approx(a.jod, abs=1e-4)
    clean = render_visible_sample(src, "clean", (1, 2), 128)
    np.testing.assert_array_equal(clean.image, clean_twin(src, "clean", (1, 2), 128).image)


def test_a_flare_builds_on_lights_of_its_scene_and_its_twin_shows_them(photos) -> None:
    src = photos["rocket"]
    s = render_visible_sample(src, "flare", (5,), 128, severity_range=(0.5, 0.5))
    lights = s.params["lights"]
    assert s.params["sources"] == [[y / 128, x / 128] for y, x in lights["centres"]]
    assert (s.params["variant"], s.params["light"]) == (lights["variant"], lights["light"])
    twin = clean_twin(src, "flare", (5,), 128).image
    y, x = (round(v) for v in lights["centres"][0])
    assert twin[y, x].min() >= 200  # the light is in the scene, saturated, not only in the artifact image


def test_lights_are_as_common_without_flare_as_the_rate_says(photos) -> None:
    src = photos["coffee"]
    n = 200
    lit = sum("lights" in clean_twin(src, "clean", (i,), 64).params for i in range(n))
    assert abs(lit / n - LIGHT_RATE) <= 4 * (LIGHT_RATE * (1 - LIGHT_RATE) / n) ** 0.5
    assert all("lights" in clean_twin(src, "flare", (i,), 64).params for i in range(20))


def test_a_canvas_without_anything_to_ghost_is_refused() -> None:
    flat = np.full((96, 96, 3), 0.5, np.float32)
    with pytest.raises(InvisibleArtifactError, match="no visible draw"):
        render_visible_sample(flat, "ghosting", (0,), 96, severity_range=(1.0, 1.0))


@pytest.fixture
def ghost_modes(monkeypatch) -> list[str]:
    """Modes of every ghosting draw that perceptual synthesizes while the test runs."""
    seen: list[str] = []
    real = perceptual.SYNTHESIZERS["ghosting"]

    def recording(image, rng, params, **kw):
        seen.append(params.mode)
        return real(image, rng, params, **kw)

    monkeypatch.setitem(perceptual.SYNTHESIZERS, "ghosting", recording)
    return seen


def test_pinned_options_keep_a_samples_ghosting_mode_through_its_redraws(ghost_modes: list[str], photos,
                                                                         monkeypatch) -> None:
    """With no draw visible, all 12 are made: with four equally likely modes drawn anew, a redraw changes the
    mode in three of four draws; pinned, never."""
    monkeypatch.setattr(perceptual, "three_level_mask", lambda jnd, rule: np.zeros(jnd.shape, np.uint8))
    even = {"ghosting": {"mode_probs": (1.0, 1.0, 1.0, 1.0)}}
    for options, modes in ((even, "several"), (pinned_options("ghosting", (0,), even), "one")):
        ghost_modes.clear()
        with pytest.raises(InvisibleArtifactError):
            render_visible_sample(photos["astronaut"], "ghosting", (0,), 64, synth_options=options)
        assert len(ghost_modes) == DEFAULT_RULE.max_draws
        assert (len(set(ghost_modes)) == 1) == (modes == "one")


def test_a_benchmark_samples_attempts_keep_its_ghosting_mode(monkeypatch) -> None:
    tried = []

    def invisible(image, label, seed, size, synth_options=None, scene=None):
        tried.append(synth_options["ghosting"]["mode_probs"])
        raise InvisibleArtifactError("no visible draw")

    monkeypatch.setattr(benchmark, "render_visible_sample", invisible)
    even = {"ghosting": {"mode_probs": (1.0, 1.0, 1.0, 1.0)}}
    assert "no visible draw" in benchmark._render_v2(np.zeros((8, 8, 3), np.float32), "ghosting", (0, 2, 5), 8,
                                                     even, None)
    assert len(tried) == benchmark.V2_ATTEMPTS and len(set(tried)) == 1 and sorted(tried[0]) == [0, 0, 0, 1]


def test_a_samples_ghosting_mode_follows_the_mix_and_its_seed() -> None:
    probs = (0.35, 0.15, 0.15, 0.35)
    opts = {"ghosting": {"mode_probs": probs}, "moire": {"x": 1}}
    n = 2000
    picks = [pinned_options("ghosting", (0, 2, i), opts)["ghosting"]["mode_probs"] for i in range(n)]
    assert all(sorted(p) == [0.0, 0.0, 0.0, 1.0] for p in picks)
    share = np.mean(picks, axis=0)
    for got, want in zip(share, probs, strict=True):
        assert abs(got - want) <= 4 * (want * (1 - want) / n) ** 0.5, (share, probs)
    assert pinned_options("ghosting", (0, 2, 7), opts) == pinned_options("ghosting", (0, 2, 7), opts)
    assert pinned_options("ghosting", (0, 2, 7), opts)["moire"] == {"x": 1}
    assert pinned_options("flare", (0, 2, 7), opts) == opts
    assert MODES[int(np.argmax(pinned_options("ghosting", (3,), None)["ghosting"]["mode_probs"]))] != "reflection"
