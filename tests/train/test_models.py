"""Every trainable method: two real training steps, export, reload through the detector registry."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ipad_iqa.baselines import DetectorConfig, build_detector
from ipad_iqa.baselines.networks import MODEL_BUILDERS, ArtifactModel, build_model, load_trained
from ipad_iqa.baselines.trained import TRAINED_METHODS
from ipad_iqa.model.ipad_clip import ViewOutput
from ipad_iqa.train.config import TrainConfig
from ipad_iqa.train.loop import train
from ipad_iqa.weights import WeightsError, read_keys, read_metadata

# The detector name that loads each method's checkpoint.
DETECTOR_OF = {"ipad": "ipad_ref", "aprilgan": "aprilgan", "anomalyclip": "anomalyclip", "manip": "manip",
               "segnet": "segnet"}


def test_every_builder_is_tested_and_registered(tiny_arch) -> None:
    assert set(tiny_arch) == set(MODEL_BUILDERS) == set(DETECTOR_OF)
    assert {TRAINED_METHODS[d].method for d in DETECTOR_OF.values()} == set(MODEL_BUILDERS)


def test_default_method_is_ipad() -> None:
    assert TrainConfig().method == "ipad"


@pytest.mark.parametrize("method", sorted(MODEL_BUILDERS))
def test_protocol_shapes(method: str, tiny_config, tmp_path) -> None:
    model = build_model(tiny_config(method, tmp_path, tmp_path)).train()
    assert isinstance(model, ArtifactModel)
    t = model.text_anchors()
    out = model.forward_views(model.normalize(torch.rand(2, 3, 64, 64)), t)
    assert isinstance(out, ViewOutput) and out.layer_logits
    for logits in out.layer_logits:
        assert logits.shape[:2] == (2, 4) and logits.shape[-1] >= 4
    assert out.probs.shape == out.layer_logits[0].shape and out.cls_logits.shape == (2, 4)
    class_probs, score = model.fuse(out.cls_logits, out.probs)
    assert class_probs.shape == (2, 3) and score.shape == (2, 1)
    assert model.separation_loss(t).shape == ()


@pytest.mark.parametrize("method", sorted(MODEL_BUILDERS))
def test_train_export_reload(method: str, clean_pool, tiny_config, tiny_arch, tmp_path) -> None:
    torch.set_num_threads(1)
    cfg = tiny_config(method, clean_pool, tmp_path / "run")
    summary = train(cfg)
    assert summary["steps"] == 2 and all(torch.isfinite(torch.tensor(summary["first_losses"])))
    ckpt = tmp_path / "run" / "last.safetensors"
    meta = read_metadata(ckpt)
    assert meta["method"] == method and meta["config"]["arch"] == tiny_arch[method]

    det = build_detector(DETECTOR_OF[method], DetectorConfig(checkpoint=str(ckpt)))
    x = torch.rand(2, 3, 45, 77, generator=torch.Generator().manual_seed(0))
    out = det.predict(x)
    assert out.score.shape == (2, 1) and out.class_probs.shape == (2, 3) and out.maps.shape == (2, 3, 45, 77)
    for part in out:
        assert torch.isfinite(part).all() and part.min() >= 0 and part.max() <= 1

    fresh = build_model(cfg).state_dict()  # same seed: only training can make the loaded weights differ
    loaded = det.model.state_dict()
    assert any(not torch.equal(fresh[k], loaded[k]) for k in fresh if fresh[k].is_floating_point())


def test_loader_refuses_another_method(tiny_config, tmp_path) -> None:
    from ipad_iqa.train.loop import export_weights

    cfg = tiny_config("segnet", tmp_path, tmp_path)
    export_weights(build_model(cfg), tmp_path / "segnet.safetensors", cfg, {})
    with pytest.raises(WeightsError, match="trained as method 'segnet', not 'manip'"):
        build_detector("manip", DetectorConfig(checkpoint=str(tmp_path / "segnet.safetensors")))
    model = load_trained(tmp_path / "segnet.safetensors", arch={"cls_weight": 1.0})
    assert model.cfg.cls_weight == 1.0 and not model.training


def test_clip_methods_refuse_contradicting_arch(tiny_config, tmp_path) -> None:
    cfg = tiny_config("anomalyclip", tmp_path, tmp_path)
    with pytest.raises(ValueError, match="fixes cls_weight=1.0"):
        build_model(dataclasses.replace(cfg, arch={"cls_weight": 0.5}))
    model = build_model(cfg)
    assert model.cfg.objects == "agnostic" and not model.cfg.use_adapters and model.cfg.cls_weight == 1.0


def test_init_towers_takes_the_towers_of_another_method(tiny_config, tmp_path) -> None:
    """aprilgan warm-started from an ipad checkpoint: towers equal to the file, its own head fresh, and the
    trained file rebuilds the same towers when loaded."""
    from ipad_iqa.train.loop import export_weights

    src_cfg = tiny_config("ipad", tmp_path, tmp_path, seed=7)
    src = build_model(src_cfg)
    export_weights(src, tmp_path / "ipad.safetensors", src_cfg, {})
    cfg = tiny_config("aprilgan", tmp_path, tmp_path, init_towers=str(tmp_path / "ipad.safetensors"),
                      arch={"freeze_backbone": True})
    model, cold = build_model(cfg), build_model(dataclasses.replace(cfg, init_towers=None))
    src_state, state, cold_state = src.state_dict(), model.state_dict(), cold.state_dict()
    towers = [k for k in state if k.startswith(("backbone.", "text."))]
    assert towers and all(torch.equal(state[k], src_state[k]) for k in towers)
    assert any(not torch.equal(state[k], cold_state[k]) for k in towers)
    assert all(torch.equal(state[k], cold_state[k]) for k in state if k.startswith("adapters."))
    assert not any(p.requires_grad for p in model.backbone.parameters())


def test_init_towers_names_a_variant_or_a_file(tiny_config, tmp_path) -> None:
    cfg = tiny_config("ipad", tmp_path, tmp_path, init_towers=str(tmp_path / "missing.safetensors"))
    with pytest.raises(WeightsError, match="neither a registry variant nor an existing file"):
        build_model(cfg)
    with pytest.raises(WeightsError, match="no weights are registered"):
        build_model(dataclasses.replace(cfg, init_towers="ipad_clip_test"))


@pytest.mark.parametrize("method", ["ipad", "segnet"])
def test_init_weights_starts_the_whole_model(method: str, tiny_config, tmp_path) -> None:
    """Fine-tuning start: every weight, head included, equals the file's; a seed change alone would not."""
    from ipad_iqa.train.loop import export_weights

    src_cfg = tiny_config(method, tmp_path, tmp_path, seed=7)
    src = build_model(src_cfg)
    export_weights(src, tmp_path / "src.safetensors", src_cfg, {})
    model = build_model(tiny_config(method, tmp_path, tmp_path, init_weights=str(tmp_path / "src.safetensors")))
    src_state, state = src.state_dict(), model.state_dict()
    assert set(state) == set(src_state)
    assert all(torch.allclose(state[k].float(), src_state[k].float(), atol=1e-3, rtol=1e-3) for k in state)
    cold = build_model(tiny_config(method, tmp_path, tmp_path))
    assert any(not torch.equal(cold.state_dict()[k], state[k]) for k in state if state[k].is_floating_point())


def test_init_drop_leaves_out_parameters_the_model_no_longer_has(tiny_config, tiny_arch, tmp_path) -> None:
    """A steering-off model starts from a file with anchor-steering strengths only when they are named."""
    from ipad_iqa.train.loop import export_weights

    src_cfg = tiny_config("ipad", tmp_path, tmp_path, arch={**tiny_arch["ipad"], "anchor_steering": True})
    export_weights(build_model(src_cfg), tmp_path / "src.safetensors", src_cfg, {})
    off = {**tiny_arch["ipad"], "anchor_steering": False}
    start = str(tmp_path / "src.safetensors")
    with pytest.raises(WeightsError, match="unexpected keys.*strength"):
        build_model(tiny_config("ipad", tmp_path, tmp_path, arch=off, init_weights=start))
    with pytest.raises(WeightsError, match=r"unexpected keys \['dense_adapter.strength'\]"):
        build_model(tiny_config("ipad", tmp_path, tmp_path, arch=off, init_weights=start,
                                init_drop=["adapters.*.strength"]))
    model = build_model(tiny_config("ipad", tmp_path, tmp_path, arch=off, init_weights=start,
                                    init_drop=["adapters.*.strength", "dense_adapter.strength"]))
    assert not any(k.endswith("strength") for k in model.state_dict())


def test_start_options_are_checked(tiny_config, tmp_path) -> None:
    cfg = tiny_config("ipad", tmp_path, tmp_path, init_towers="ipad_clip", init_weights="ipad_clip")
    with pytest.raises(ValueError, match="init_towers and init_weights both set"):
        build_model(cfg)
    with pytest.raises(ValueError, match="init_towers needs a CLIP-based method; 'segnet'"):
        build_model(tiny_config("segnet", tmp_path, tmp_path, init_towers="ipad_clip"))
    with pytest.raises(WeightsError, match="init_weights='nowhere.safetensors' is neither"):
        build_model(tiny_config("ipad", tmp_path, tmp_path, init_weights="nowhere.safetensors"))


def test_trained_file_loads_without_its_start_file(clean_pool, tiny_config, tmp_path) -> None:
    """A whole-model checkpoint is self-contained: loading it must not need the file its run started from."""
    from ipad_iqa.train.loop import export_weights

    src_cfg = tiny_config("ipad", tmp_path, tmp_path)
    start = tmp_path / "start.safetensors"
    export_weights(build_model(src_cfg), start, src_cfg, {})
    train(tiny_config("ipad", clean_pool, tmp_path / "run", init_weights=str(start)))
    start.unlink()
    model = load_trained(tmp_path / "run" / "last.safetensors")
    assert torch.isfinite(model(torch.rand(1, 3, 64, 64)).score).all()


def test_head_only_file_takes_its_towers_from_the_start_file(clean_pool, tiny_config, tmp_path) -> None:
    """Frozen-backbone runs save only the head; loading rebuilds the towers from ``init_towers``."""
    from ipad_iqa.train.loop import export_weights

    src_cfg = tiny_config("ipad", tmp_path, tmp_path, seed=7)
    src = build_model(src_cfg)
    export_weights(src, tmp_path / "towers.safetensors", src_cfg, {})
    train(tiny_config("aprilgan", clean_pool, tmp_path / "run", init_towers=str(tmp_path / "towers.safetensors"),
                      arch={"freeze_backbone": True}))
    ckpt = tmp_path / "run" / "last.safetensors"
    assert not any(k.startswith(("backbone.", "text.")) for k in read_keys(ckpt))
    state, src_state = load_trained(ckpt).state_dict(), src.state_dict()
    assert all(torch.equal(state[k], src_state[k]) for k in state if k.startswith(("backbone.", "text.")))

    other_cfg = tiny_config("ipad", tmp_path, tmp_path, seed=8)  # new towers under the old name
    export_weights(build_model(other_cfg), tmp_path / "towers.safetensors", other_cfg, {})
    with pytest.raises(WeightsError, match="trained on start weights with sha256 .* now has"):
        load_trained(ckpt)


def test_a_fine_tune_validates_its_start_and_exports_its_last_step(clean_pool, tiny_config, tmp_path) -> None:
    """A fine-tune's start is validated at step 0 (row 0 of val.csv, to compare with), not exported."""
    from ipad_iqa.train.loop import export_weights

    src_cfg = tiny_config("ipad", tmp_path, tmp_path)
    export_weights(build_model(src_cfg), tmp_path / "start.safetensors", src_cfg, {})
    cfg = tiny_config("ipad", clean_pool, tmp_path / "run", init_weights=str(tmp_path / "start.safetensors"),
                      optim={"batch_size": 2, "steps": 2, "warmup_steps": 0, "lr": 50.0, "backbone_lr": 50.0})
    summary = train(cfg)
    assert [h["step"] for h in summary["history"]] == [0, 2]
    exported = read_metadata(tmp_path / "run" / "last.safetensors")["metrics"]
    assert exported["step"] == 2 and exported["val_loss"] == summary["history"][1]["val_loss"]
    assert (tmp_path / "run" / "val.csv").read_text().splitlines()[1].startswith("0,")
