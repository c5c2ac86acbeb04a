"""WinCLIP-style zero-shot baseline: window geometry, harmonic aggregation, and the detector contract."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ipad_iqa.baselines import build_detector, ipad_inference_code_sha256, method_fingerprint
from ipad_iqa.baselines.winclip import (
    WinCLIPConfig,
    WinCLIPDetector,
    harmonic_to_patches,
    state_anchors,
    window_index,
)
from ipad_iqa.factory import create_model
from ipad_iqa.output import ARTIFACT_CLASSES
from ipad_iqa.weights import WeightsError, save_weights, sha256_file

CODE = f", inference code {ipad_inference_code_sha256()[:16]}"  # what an IPAD method's fingerprint ends with


def test_window_index_covers_each_window_row_major() -> None:
    idx = window_index(3, 4, 2)
    assert idx.shape == (2 * 3, 4)
    assert idx[0].tolist() == [0, 1, 4, 5]
    assert idx[2].tolist() == [2, 3, 6, 7]  # last window of the first row
    assert idx[3].tolist() == [4, 5, 8, 9]  # first window of the second row


def test_harmonic_aggregation_against_a_loop() -> None:
    gh, gw, size = 4, 5, 2
    probs = torch.rand((gh - size + 1) * (gw - size + 1), 3) * 0.9 + 0.05
    got = harmonic_to_patches(probs, gh, gw, size)
    idx = window_index(gh, gw, size)
    for k in range(3):
        for cell in range(gh * gw):
            covering = probs[(idx == cell).any(dim=1), k]
            expected = len(covering) / (1.0 / covering).sum()
            assert got[0, k, cell // gw, cell % gw] == pytest.approx(expected.item(), rel=1e-5)


def test_one_confident_normal_window_keeps_a_patch_normal() -> None:
    probs = torch.full((4, 1), 0.9)
    probs[0] = 0.01  # top-left window (covers patch (0, 0) alone among the corners)
    grid = harmonic_to_patches(probs, 3, 3, 2)
    assert grid[0, 0, 0, 0] < 0.02 and grid[0, 0, 2, 2] == pytest.approx(0.9)
    assert grid[0, 0, 1, 1] < 0.05  # covered by all four windows, one of them confident


def _tiny_detector(zero_shot: bool) -> WinCLIPDetector:
    model = create_model("ipad_clip_test", random_init=True, zero_shot=zero_shot, arch={"objects": "agnostic"})
    return WinCLIPDetector("winclip_test", model, state_anchors(model), WinCLIPConfig())


@pytest.mark.parametrize("zero_shot", [False, True], ids=["own-text-tower", "zero-shot-prompts"])
@pytest.mark.parametrize("size", [(64, 64), (70, 150), (32, 600)], ids=["square", "odd", "one-patch-thin"])
def test_output_contract(zero_shot: bool, size: tuple[int, int]) -> None:
    det = _tiny_detector(zero_shot)
    out = det.predict(torch.rand(2, 3, *size))
    assert out.score.shape == (2, 1) and out.class_probs.shape == (2, len(ARTIFACT_CLASSES))
    assert out.maps.shape == (2, len(ARTIFACT_CLASSES), *size)
    for t in out:
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1
    # the image probability is at least half the map maximum (it averages the class token with that maximum)
    assert (out.class_probs >= 0.5 * out.maps.flatten(2).amax(-1) - 1e-6).all()


def test_batch_equals_single_images() -> None:
    det = _tiny_detector(False)
    x = torch.rand(3, 3, 64, 96)
    batch = det.predict(x)
    alone = det.predict(x[1:2])
    torch.testing.assert_close(batch.maps[1:2], alone.maps)
    torch.testing.assert_close(batch.class_probs[1:2], alone.class_probs)


def test_window_token_subsets_see_only_their_patches() -> None:
    """Changing pixels outside a window leaves that window's embedding unchanged (it is encoded alone)."""
    model = create_model("ipad_clip_test", random_init=True)
    bb = model.backbone
    x = torch.rand(1, 3, 64, 64)
    y = x.clone()
    y[..., 32:, 32:] = torch.rand(1, 3, 32, 32)  # patches (2..3, 2..3) of the 4x4 grid
    idx = window_index(4, 4, 2)[:1]  # patches 0, 1, 4, 5
    with torch.no_grad():
        emb = [bb.encode_tokens(torch.cat([t[:, :1], t[0, 1:][idx]], dim=1))
               for t in (bb.embed(model.normalize(x)), bb.embed(model.normalize(y)))]
    torch.testing.assert_close(emb[0], emb[1])


def test_shipped_variant_fingerprint_and_other_weights_by_checkpoint(tmp_path: Path) -> None:
    """winclip runs on the shipped ipad_clip towers, or on those of an earlier whole-model checkpoint."""
    from ipad_iqa.baselines import DetectorConfig

    assert method_fingerprint("winclip").startswith("registry weights sha256 ")
    assert method_fingerprint("winclip_vitb16") == "CLIP weights 'openai'"
    assert method_fingerprint("ipad_clip_vitb16[zero_shot=true]") == "CLIP weights 'openai'" + CODE
    assert method_fingerprint("ipad_clip_test") == "no trained weights (random init)" + CODE
    # winclip runs the towers only; IPAD methods also depend on the code that makes their maps
    assert "inference code" not in method_fingerprint("winclip")
    assert method_fingerprint("ipad_clip").endswith(CODE)
    assert method_fingerprint("ipad_ref").endswith(CODE)  # trained methods run the same model code
    shipped = build_detector("winclip")
    state = {k: v.clone() for k, v in shipped.model.state_dict().items()}
    key = "backbone.visual.proj"
    state[key] = state[key].roll(1, dims=0)  # other towers: an image projection unlike the shipped one
    path = tmp_path / "earlier.safetensors"
    save_weights(state, path, {})
    det = build_detector("winclip", DetectorConfig(checkpoint=str(path)))
    torch.testing.assert_close(det.model.state_dict()[key], state[key])
    assert method_fingerprint("winclip", DetectorConfig(checkpoint=str(path))) == (
        f"checkpoint sha256 {sha256_file(path)}")
    x = torch.rand(1, 3, 96, 96)
    assert not torch.equal(det.predict(x).class_probs, shipped.predict(x).class_probs)
    with pytest.raises(WeightsError, match="nope.safetensors"):
        build_detector("winclip", DetectorConfig(checkpoint=str(tmp_path / "nope.safetensors")))


def test_real_clip_variant_reads_the_checkpoint_as_clip_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """winclip_vitb16 is zero-shot on pretrained CLIP; a local file given as its checkpoint is those weights.
    (A tiny random model stands in for ViT-B-16, whose weights cannot be had offline.)"""
    import ipad_iqa.factory as factory
    from ipad_iqa.baselines import DetectorConfig

    calls = []

    def fake(variant: str, **kwargs):
        calls.append((variant, kwargs))
        return create_model("ipad_clip_test", random_init=True, zero_shot=True, arch=kwargs["arch"])

    monkeypatch.setattr(factory, "create_model", fake)
    det = build_detector("winclip_vitb16", DetectorConfig(checkpoint="/models/ViT-B-16.bin"))
    (variant, kwargs), = calls
    assert variant == "ipad_clip_vitb16" and kwargs["zero_shot"] is True
    assert kwargs["clip_weights"] == "/models/ViT-B-16.bin" and kwargs["arch"] == {"objects": "agnostic"}
    assert det.anchors.shape == (4, det.model.backbone.embed_dim)


def test_fingerprint_follows_weights_named_in_the_method(tmp_path: Path) -> None:
    """clip_weights=/head_weights= in a method name change its predictions, so they change its fingerprint."""
    clip, head = tmp_path / "clip.bin", tmp_path / "head.safetensors"
    clip.write_bytes(b"clip")
    head.write_bytes(b"head")
    assert method_fingerprint(f"ipad_clip_vitb16[zero_shot=true,clip_weights={clip}]") == (
        f"CLIP weights sha256 {sha256_file(clip)}" + CODE)
    assert method_fingerprint(f"ipad_clip_vitb16[head_weights={head}]") == (
        f"checkpoint sha256 {sha256_file(head)}" + CODE)
    assert method_fingerprint(f"ipad_clip_vitb16[head_weights={head},clip_weights={clip}]") == (
        f"checkpoint sha256 {sha256_file(head)}, CLIP weights sha256 {sha256_file(clip)}" + CODE)
    assert method_fingerprint("ipad_clip_vitb16[clip_weights=laion2b_s34b_b88k,zero_shot=true]") == (
        "CLIP weights 'laion2b_s34b_b88k'" + CODE)
    with pytest.raises(WeightsError, match="gone.safetensors"):
        method_fingerprint(f"ipad_clip_vitb16[head_weights={tmp_path / 'gone.safetensors'}]")
