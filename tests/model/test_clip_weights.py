"""Where CLIP weights come from: a missing file or an uncached tag offline fails in one line naming
``clip_weights=``, before any model is built or any hub request retried; a cached tag loads offline."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants as hub
import open_clip
import pytest
import torch

from ipad_iqa.factory import create_model
from ipad_iqa.model.backbone import BackboneError, create_clip

TAG = "ipadtest"
REPO = "ipad-test/tiny"


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache and a pretrained tag of ipad-clip-tiny whose checkpoint lives on the hub."""
    cache = tmp_path / "hf"
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(cache))
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "ipad-clip-tiny", {TAG: {"hf_hub": f"{REPO}/"}})
    return cache


def _never_build(*args, **kwargs):
    raise AssertionError("open_clip.create_model was called: the error must come before any build or download")


def _cache_checkpoint(cache: Path, state: dict[str, torch.Tensor]) -> None:
    """Lay a checkpoint out as huggingface_hub caches it (refs/main -> snapshots/<commit>/<file>)."""
    repo = cache / f"models--{REPO.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    torch.save(state, repo / "snapshots" / commit / "open_clip_pytorch_model.bin")


def test_missing_clip_weights_file_named_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_clip, "create_model", _never_build)
    # ipad_clip_vitb16 has no head weights either: the file the user gave is what the error names
    with pytest.raises(BackboneError) as err:
        create_model("ipad_clip_vitb16", clip_weights="/missing/ViT-B-16.bin")
    message = str(err.value)
    assert "/missing/ViT-B-16.bin" in message and "clip_weights=" in message and "\n" not in message


@pytest.mark.parametrize(("content", "gist"), [(b"not a checkpoint" * 8, "Weights only load failed"),
                                              (b"", "EOFError"), (None, "Error(s) in loading state_dict")])
def test_unreadable_clip_weights_file_in_one_short_line(tmp_path: Path, content: bytes | None, gist: str) -> None:
    """Garbage, an empty file or another model's state dict: one line naming the file and the gist of the
    failure, without torch.load's advice to switch ``weights_only`` off."""
    path = tmp_path / "ViT.bin"
    if content is None:
        torch.save({"not_a_clip_key": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(BackboneError) as err:
        create_clip("ipad-clip-tiny", str(path))
    message = str(err.value)
    assert str(path) in message and gist in message and "clip_weights=" in message
    assert "\n" not in message and "weights_only" not in message and len(message) < 400


def test_uncached_tag_offline_fails_without_hub_call(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_clip, "create_model", _never_build)
    with pytest.raises(BackboneError) as err:
        create_clip("ipad-clip-tiny", TAG)
    message = str(err.value)
    assert "not in the Hugging Face cache" in message and "downloads are off" in message
    assert "clip_weights=FILE" in message and REPO in message and "\n" not in message


def test_uncached_tag_unreachable_hub_one_request(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads allowed but the hub does not answer (a closed local port): one line, no retries."""
    for var in ("IPAD_IQA_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "HUGGINGFACE_CO_URL_TEMPLATE", "http://127.0.0.1:9/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(open_clip, "create_model", _never_build)
    with pytest.raises(BackboneError, match="did not answer.*clip_weights=FILE"):
        create_clip("ipad-clip-tiny", TAG)


def test_cached_tag_loads_offline(hub_cache: Path) -> None:
    torch.manual_seed(1)
    reference = open_clip.create_model("ipad-clip-tiny", pretrained=None)
    _cache_checkpoint(hub_cache, reference.state_dict())
    loaded = create_clip("ipad-clip-tiny", TAG)
    assert all(torch.equal(p, reference.state_dict()[n]) for n, p in loaded.state_dict().items())


def _has_quick_gelu(model: torch.nn.Module) -> bool:
    from open_clip.transformer import QuickGELU

    return any(isinstance(m, QuickGELU) for m in model.modules())


def test_local_copy_of_quick_gelu_weights_is_built_with_quick_gelu(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A local file of a family trained with QuickGELU (OpenAI's) gets that activation, as the tag would; the
    tag's own config does not say so for open_clip's plain model names."""
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "ipad-clip-tiny",
                        {TAG: {"hf_hub": f"{REPO}/", "quick_gelu": True}})
    torch.manual_seed(1)
    file = tmp_path / "tiny.bin"
    torch.save(open_clip.create_model("ipad-clip-tiny", pretrained=None).state_dict(), file)
    assert _has_quick_gelu(create_clip("ipad-clip-tiny", str(file), family=TAG))
    assert not _has_quick_gelu(create_clip("ipad-clip-tiny", str(file)))


def test_openai_variant_towers_use_quick_gelu() -> None:
    """ipad_clip_vitb16 registers OpenAI's weights, so even its random test towers have their activation."""
    assert _has_quick_gelu(create_model("ipad_clip_vitb16", random_init=True))
