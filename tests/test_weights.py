"""The one weight loader: round trip, sha256, corrupt/mismatched files, offline behaviour (network mocked)."""

import dataclasses
import io
import urllib.request

import pytest
import torch

from ipad_iqa import create_model
from ipad_iqa.factory import HEAD_PREFIXES
from ipad_iqa.model.backbone import BackboneError
from ipad_iqa.registry import get_variant
from ipad_iqa.weights import (
    WeightsError,
    WeightsSpec,
    cache_dir,
    read_metadata,
    resolve_weights,
    save_weights,
    sha256_file,
)


def _trained_like(seed: int):
    model = create_model("ipad_clip_test")
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.01)
    return model


def _variant_with(spec):
    return dataclasses.replace(get_variant("ipad_clip_test"), weights=spec, allow_random_init=False)


def test_round_trip_through_cache_with_sha256():
    src = _trained_like(1)
    path = cache_dir() / "tiny.safetensors"
    sha = save_weights(src.state_dict(), path, {"variant": "ipad_clip_test"})
    loaded = create_model(_variant_with(WeightsSpec(sha256=sha, file="assets/tiny.safetensors")))
    x = torch.rand(1, 3, 96, 64)
    for a, b in zip(src.eval()(x), loaded(x), strict=True):
        torch.testing.assert_close(a, b)


def test_checkpoint_with_the_whole_token_table_still_loads():
    """A checkpoint written before the compact token table holds all 49,408 rows: the model keeps its own."""
    src = _trained_like(4)
    state = src.state_dict()
    ids = state.pop("text.token_ids")
    full = torch.zeros(49408, state["text.token_embedding.weight"].shape[1])
    full[ids] = state["text.token_embedding.weight"]
    state["text.token_embedding.weight"] = full
    path = cache_dir() / "old.safetensors"
    save_weights(state, path, {})
    loaded = create_model("ipad_clip_test", head_weights=path)
    torch.testing.assert_close(loaded.text.token_embedding.weight, src.text.token_embedding.weight)
    torch.testing.assert_close(loaded.text_anchors(), src.eval().text_anchors())


def test_head_only_checkpoint_loads():
    src = _trained_like(2)
    head = {k: v for k, v in src.state_dict().items() if k.startswith(HEAD_PREFIXES)}
    path = cache_dir() / "head.safetensors"
    save_weights(head, path, {})
    loaded = create_model("ipad_clip_test", head_weights=path)
    torch.testing.assert_close(loaded.prompts.ctx, src.prompts.ctx)


def test_sha_mismatch_is_refused():
    path = cache_dir() / "tiny.safetensors"
    save_weights(_trained_like(3).state_dict(), path, {})
    with pytest.raises(WeightsError, match="sha256"):
        create_model(_variant_with(WeightsSpec(sha256="0" * 64, file="assets/tiny.safetensors")))


def test_garbage_file_gives_clear_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        create_model("ipad_clip_test", head_weights=bad)


def test_mismatched_checkpoint_never_half_loads(tmp_path):
    other = create_model("ipad_clip_test", arch={"n_ctx": 6})
    path = tmp_path / "other.safetensors"
    save_weights(other.state_dict(), path, {})
    with pytest.raises(WeightsError, match="shape mismatch"):
        create_model("ipad_clip_test", head_weights=path)
    model = create_model("ipad_clip_test")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from ipad_iqa.weights import load_into

    with pytest.raises(WeightsError):
        load_into(model, path, HEAD_PREFIXES)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_missing_override_path(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        create_model("ipad_clip_test", head_weights=tmp_path / "nope.safetensors")


def test_offline_download_says_where_it_looked(monkeypatch):
    monkeypatch.setenv("IPAD_IQA_OFFLINE", "1")
    spec = WeightsSpec(sha256="1" * 64, url="https://example.invalid/ipad/head-v1.safetensors")
    with pytest.raises(WeightsError, match="head-v1.safetensors not found.*looked in.*disabled"):
        resolve_weights("ipad_x", spec)


def _fake_urlopen(payload: bytes):
    def urlopen(url, timeout=None):
        return io.BytesIO(payload)

    return urlopen


def test_download_verifies_and_caches(monkeypatch, tmp_path):
    src = tmp_path / "w.safetensors"
    sha = save_weights(_trained_like(4).state_dict(), src, {})
    monkeypatch.delenv("IPAD_IQA_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", _fake_urlopen(src.read_bytes()))
    path = resolve_weights("ipad_x", WeightsSpec(sha256=sha, url="https://example.invalid/w.safetensors"))
    assert path.parent == cache_dir() and sha256_file(path) == sha


def test_download_with_wrong_bytes_leaves_nothing(monkeypatch):
    monkeypatch.delenv("IPAD_IQA_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", _fake_urlopen(b"tampered"))
    with pytest.raises(WeightsError, match="sha256"):
        resolve_weights("ipad_x", WeightsSpec(sha256="2" * 64, url="https://example.invalid/w2.safetensors"))
    assert not any(cache_dir().glob("w2*")) and not any(cache_dir().glob("*.part"))


def test_null_weights_without_zero_shot_explains_how_to_train():
    with pytest.raises(WeightsError, match="zero_shot=True.*ipad-iqa train"):
        create_model("ipad_clip_vitb16")


def test_zero_shot_needs_clip_weights_offline_error():
    with pytest.raises(BackboneError, match="clip_weights="):
        create_model("ipad_clip_test", zero_shot=True, clip_weights="openai")


@pytest.mark.parametrize("kwargs", [{"clip_weights": "openai"}, {"zero_shot": True},
                                    {"zero_shot": True, "clip_weights": "openai"}])
def test_conv_stem_variant_points_to_the_clip_variants(kwargs):
    """Its towers are trained from scratch: asked for CLIP weights or zero-shot prompts, it names the variants
    that have them, in one step (not a chain of errors each asking for the next option)."""
    with pytest.raises(ValueError, match="pretrained CLIP backbone .*ipad_clip_vitb16") as err:
        create_model("ipad_clip", **kwargs)
    assert "towers are its own" in str(err.value)


def test_embedded_default_ships_verified_trained_weights():
    """The default variant names a packaged file whose sha256 matches, trained by the recipe it names."""
    spec = get_variant("ipad_clip").weights
    assert spec is not None and spec.file, "ipad_clip must ship its weights inside the package"
    path = resolve_weights("ipad_clip", spec)
    assert sha256_file(path) == spec.sha256
    assert path.stat().st_size <= 40 * 2**20
    meta = read_metadata(path)
    assert meta["variant"] == "ipad_clip" and meta["method"] == "ipad"
    assert meta["config"]["arch"]["freeze_backbone"] is False  # trained from scratch, backbone unfrozen


def test_embedded_default_loads_offline_and_differs_from_random_init(monkeypatch):
    monkeypatch.setenv("IPAD_IQA_OFFLINE", "1")
    trained = create_model("ipad_clip")
    random = create_model("ipad_clip", random_init=True)
    random_params = dict(random.named_parameters())
    assert all(not torch.equal(p, random_params[n]) for n, p in trained.named_parameters())


def test_loader_arguments_inside_arch_are_named():
    with pytest.raises(ValueError, match=r"\['head_weights'\] are not arch options.*beside arch="):
        create_model("ipad_clip_test", arch={"head_weights": "x.safetensors"})


def test_weights_trained_with_other_arch_options_name_them(tmp_path):
    """`ipad-iqa train --set arch.K=V` records its options; weights that do not fit say how to build their model."""
    cued = create_model("ipad_clip_test", arch={"conv_stem": True, "moire_cue": True})
    path = tmp_path / "cued.safetensors"
    save_weights(cued.state_dict(), path, {"config": {"arch": {"conv_stem": True, "moire_cue": True}}})
    with pytest.raises(WeightsError, match=r"unexpected keys .*create it as 'ipad_clip_test\[moire_cue=true\]'"):
        create_model("ipad_clip_test", arch={"conv_stem": True}, head_weights=path)
    create_model("ipad_clip_test", arch={"conv_stem": True, "moire_cue": True}, head_weights=path)
    save_weights(cued.state_dict(), path, {"config": {"arch": {"moire_cue": True, "retired_option": 1}}})
    with pytest.raises(WeightsError, match=r"this version does not have: \['retired_option'\]"):
        create_model("ipad_clip_test", arch={"conv_stem": True}, head_weights=path)
