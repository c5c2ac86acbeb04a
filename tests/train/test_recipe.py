"""The training recipe end to end on the tiny config: smoke run, resume, determinism, 2-process DDP (gloo)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ipad_iqa import create_model
from ipad_iqa.cli.main import main
from ipad_iqa.data.splits import split_of
from ipad_iqa.train.config import load_config, recorded_precision
from ipad_iqa.train.loop import train
from ipad_iqa.weights import read_metadata

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny_smoke.yaml"


@pytest.fixture(scope="module")
def clean_pool(tmp_path_factory) -> Path:
    """Small textured photos, enough of them to land in both the train and the val scene split."""
    root = tmp_path_factory.mktemp("clean")
    rng = np.random.default_rng(0)
    counts = {"train": 0, "val": 0}
    i = 0
    while counts["train"] < 4 or counts["val"] < 2:
        name = f"scene_{i:03d}.png"
        split = split_of(name)
        if split in counts and counts[split] < 4:
            yy, xx = np.mgrid[0:160, 0:160]
            base = (np.sin(xx / (5 + i)) + np.cos(yy / (7 + i))) * 60 + 128
            img = np.clip(base[..., None] + rng.normal(0, 10, (160, 160, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name)
            counts[split] += 1
        i += 1
    return root


def _overrides(clean: Path, out: Path, *extra: str) -> list[str]:
    return [f"data.clean_dir={clean}", f"out_dir={out}", *extra]


def test_smoke_run_writes_checkpoints_and_resumes(clean_pool, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--config", str(CONFIG), "--clean-dir", str(clean_pool), "--out", str(out)]) == 0
    for name in ("log.csv", "val.csv", "last.safetensors", "last.pt"):
        assert (out / name).is_file(), name
    header = (out / "val.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["step", "val_loss", "val_acc"] and {"val_auroc", "moire_pixel_auroc"} <= set(header)
    model = create_model("ipad_clip_test", head_weights=out / "last.safetensors")
    assert model(torch.rand(1, 3, 70, 90)).maps.shape == (1, 3, 70, 90)
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["step"] == 4 and ckpt["config"]["variant"] == "ipad_clip_test"
    summary = train(load_config(CONFIG, _overrides(clean_pool, out, "optim.steps=6")), resume=str(out / "last.pt"))
    assert summary["steps"] == 6 and len(summary["first_losses"]) == 2


def test_checkpoints_record_the_revision_the_run_started_at(clean_pool, tmp_path, monkeypatch):
    """A commit made during a long run must not be written into its later checkpoints as their code."""
    import itertools

    import ipad_iqa.train.loop as loop

    revisions = (f"rev{i}" for i in itertools.count())
    losses = (10.0 - i for i in itertools.count())
    monkeypatch.setattr(loop, "git_revision", lambda: next(revisions))
    monkeypatch.setattr(loop, "validate", lambda *a: {"val_loss": next(losses), "val_acc": 0.0})
    out = tmp_path / "run"
    summary = train(load_config(CONFIG, _overrides(clean_pool, out, "val_every=1")))
    assert len(summary["history"]) == 4  # four exports of last.safetensors
    assert read_metadata(out / "last.safetensors")["git_revision"] == "rev0"


def test_a_run_exports_its_last_step_even_when_the_validation_loss_rose(clean_pool, tmp_path, monkeypatch):
    """The validation loss chose worse than the last step (docs/history.md): every run exports its latest."""
    import itertools

    import ipad_iqa.train.loop as loop

    losses = (1.0 + i for i in itertools.count())  # every validation is worse than the first
    monkeypatch.setattr(loop, "validate", lambda *a: {"val_loss": next(losses), "val_acc": 0.0})
    out = tmp_path / "run"
    train(load_config(CONFIG, _overrides(clean_pool, out, "val_every=1", "patience=10")))
    assert read_metadata(out / "last.safetensors")["metrics"] == {"step": 4, "val_loss": 4.0, "val_acc": 0.0}


def test_keep_weights_writes_the_weights_of_every_validation(clean_pool, tmp_path):

    out = tmp_path / "run"
    train(load_config(CONFIG, _overrides(clean_pool, out, "val_every=2", "keep_weights=true")))
    kept = sorted(p.name for p in out.glob("step_*.safetensors"))
    assert kept == ["step_000002.safetensors", "step_000004.safetensors"]
    assert [read_metadata(out / k)["metrics"]["step"] for k in kept] == [2, 4]
    assert (out / "last.safetensors").read_bytes() == (out / "step_000004.safetensors").read_bytes()
    plain = tmp_path / "plain"
    train(load_config(CONFIG, _overrides(clean_pool, plain, "val_every=2")))
    assert not list(plain.glob("step_*.safetensors"))


def test_same_config_and_seed_give_same_losses(clean_pool, tmp_path):
    runs = [train(load_config(CONFIG, _overrides(clean_pool, tmp_path / f"r{i}"))) for i in range(2)]
    assert runs[0]["first_losses"] == runs[1]["first_losses"]
    other = train(load_config(CONFIG, _overrides(clean_pool, tmp_path / "r3", "seed=1")))
    assert other["first_losses"] != runs[0]["first_losses"]


def test_bfloat16_runs_only_the_training_forward_in_bfloat16(clean_pool, tmp_path, monkeypatch):
    import ipad_iqa.train.loop as loop

    forward, loss_inputs = [], []
    to_float, loss = loop._float, loop.ipad_loss

    def spy_float(out):
        forward.append(out.layer_logits[0].dtype)
        return to_float(out)

    def spy_loss(model, out, t, *rest):  # training and validation both compute their loss here
        loss_inputs.append({x.dtype for x in (*out.layer_logits, out.probs, out.cls_logits, out.cls_emb, t)})
        return loss(model, out, t, *rest)

    monkeypatch.setattr(loop, "_float", spy_float)
    monkeypatch.setattr(loop, "ipad_loss", spy_loss)
    full = train(load_config(CONFIG, _overrides(clean_pool, tmp_path / "f32", "precision=float32")))
    calls = len(loss_inputs)
    half = train(load_config(CONFIG, _overrides(clean_pool, tmp_path / "bf16", "precision=bfloat16")))
    assert forward == [torch.float32] * 4 + [torch.bfloat16] * 4
    assert calls > 4 and len(loss_inputs) == 2 * calls  # the validations' losses were seen too
    assert all(dtypes == {torch.float32} for dtypes in loss_inputs)
    # the same batches and start: bfloat16 rounds the first loss, it does not change it
    assert half["first_losses"] != full["first_losses"]
    np.testing.assert_allclose(half["first_losses"][0], full["first_losses"][0], rtol=0.02)
    ckpt = torch.load(tmp_path / "bf16" / "last.pt", weights_only=True)
    assert all(v.dtype == torch.float32 for v in ckpt["model"].values() if v.is_floating_point())


def test_precision_is_checked_and_kept_on_resume(clean_pool, tmp_path):
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16"):
        load_config(CONFIG, ["precision=float16"])
    out = tmp_path / "run"
    train(load_config(CONFIG, _overrides(clean_pool, out, "precision=float32")))
    more = _overrides(clean_pool, out, "optim.steps=6", "precision=bfloat16")
    with pytest.raises(ValueError, match="trained with precision float32"):
        train(load_config(CONFIG, more), resume=str(out / "last.pt"))


@pytest.mark.parametrize("path", sorted(CONFIG.parent.rglob("*.yaml")), ids=lambda p: p.relative_to(CONFIG.parent).as_posix())
def test_every_committed_config_is_valid(path: Path):
    """A typo in a recipe would otherwise surface only when someone runs it (maybe hours into a queue)."""
    from ipad_iqa.baselines.networks import MODEL_BUILDERS
    from ipad_iqa.registry import get_variant

    cfg = load_config(path)
    assert cfg.method in MODEL_BUILDERS
    get_variant(cfg.variant)
    assert not (cfg.init_towers and cfg.init_weights)


def test_a_config_states_what_it_changes_of_its_base(tmp_path):
    """``base``: nested mappings merge key by key, other values are replaced; loops and missing files fail."""
    (tmp_path / "a.yaml").write_text("optim: {lr: 1.0e-3, steps: 10}\narch: {objects: agnostic}\nseed: 3\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text("base: ../a.yaml\noptim: {steps: 20}\narch: {cls_weight: 1}\nseed: 4\n")
    cfg = load_config(tmp_path / "sub" / "b.yaml", ["optim.warmup_steps=2"])
    assert (cfg.optim.lr, cfg.optim.steps, cfg.optim.warmup_steps, cfg.seed) == (1e-3, 20, 2, 4)
    assert cfg.arch == {"objects": "agnostic", "cls_weight": 1}
    (tmp_path / "c.yaml").write_text("base: d.yaml\n")
    (tmp_path / "d.yaml").write_text("base: c.yaml\n")
    with pytest.raises(ValueError, match="base chain comes back"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "e.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_config(tmp_path / "e.yaml")


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_configs_and_registry_name_no_machine_paths():
    """Data locations come from --clean-dir or IPAD_IQA_DATA; a recipe or the registry naming a folder of this
    machine would work here only."""
    import yaml

    from ipad_iqa.registry import registry_path

    values = [s for p in CONFIG.parent.rglob("*.yaml") for s in _strings(load_config(p).to_dict())]
    values += _strings(yaml.safe_load(registry_path().read_text()))
    local = [v for v in values if "/" in v and (Path(v).is_absolute() or ".." in Path(v).parts)]
    assert values and not local
    assert all(load_config(p).data.clean_dir is None for p in CONFIG.parent.rglob("*.yaml"))


def test_clean_dir_from_the_environment_when_no_one_sets_it(monkeypatch, tmp_path):
    monkeypatch.setenv("IPAD_IQA_DATA", str(tmp_path))
    assert load_config(CONFIG).data.clean_dir == str(tmp_path)
    assert load_config(CONFIG, ["data.clean_dir=elsewhere"]).data.clean_dir == "elsewhere"
    monkeypatch.delenv("IPAD_IQA_DATA")
    from ipad_iqa.train.loop import _datasets

    with pytest.raises(ValueError, match="--clean-dir DIR or the environment variable IPAD_IQA_DATA"):
        _datasets(load_config(CONFIG))


def test_registry_training_configs_exist():
    from ipad_iqa.registry import get_variant, list_variants

    named = [get_variant(v).training_config for v in list_variants() if get_variant(v).training_config]
    assert named and all((CONFIG.parents[1] / p).is_file() for p in named)


def test_unknown_config_key_is_refused():
    with pytest.raises(ValueError, match="unknown option"):
        load_config(CONFIG, ["optim.learning_rate=1"])


def test_overrides_reach_the_config_as_the_declared_types():
    # YAML reads 5e-3 as a string and lists as lists; the config must hold a float and tuples all the same
    cfg = load_config(CONFIG, ["optim.lr=5e-3", "data.severity_range=[0, 1]", "max_minutes=2"])
    assert cfg.optim.lr == 0.005 and isinstance(cfg.optim.lr, float)
    assert cfg.data.severity_range == (0.0, 1.0) and all(isinstance(v, float) for v in cfg.data.severity_range)
    assert cfg.max_minutes == 2.0 and isinstance(cfg.max_minutes, float)


def test_ghosting_modes_reach_the_training_datasets(clean_pool, tmp_path):
    from ipad_iqa.train.loop import _datasets

    cfg = load_config(CONFIG, _overrides(clean_pool, tmp_path, "data.ghosting_modes=[0, 0, 0, 1]"))
    assert all(ds.config.ghosting_modes == (0.0, 0.0, 0.0, 1.0) for ds in _datasets(cfg))
    cfg = load_config(CONFIG, _overrides(clean_pool, tmp_path, "data.reflection_scene=other"))
    assert all(ds.config.reflection_scene == "other" for ds in _datasets(cfg))
    with pytest.raises(ValueError, match="ghosting mode probabilities"):
        _datasets(load_config(CONFIG, _overrides(clean_pool, tmp_path, "data.ghosting_modes=[0, 0, 0, 0]")))


@pytest.mark.parametrize(("override", "message"), [
    ("optim.lr=fast", "'lr': expected float, got 'fast'"),
    ("optim.steps=1.5", "'steps': expected int, got 1.5"),
    ("seed=true", "'seed': expected int, got True"),
    ("data.canvas_sizes=[224]", "'canvas_sizes': expected 2 values"),
    ("num_threads=two", "'num_threads': expected int | None"),
])
def test_override_of_the_wrong_type_names_the_option(override, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        load_config(CONFIG, [override])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun is not installed with this torch")
def test_two_process_ddp_on_cpu(clean_pool, tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    out = tmp_path / "ddp"
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "ipad_iqa.cli.main", "train",
           "--config", str(CONFIG), "--clean-dir", str(clean_pool), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count('"world_size"') == 1  # rank 0 alone prints the summary
    summary, _ = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{"):])
    assert summary["world_size"] == 2 and summary["steps"] == 4
    assert (out / "last.safetensors").is_file()


@pytest.mark.parametrize(("limit", "val_every", "steps_done", "reason"), [
    ("max_minutes=1e-9", 1, 1, "time budget"), ("max_minutes=1e-9", 4, 4, "steps"),
    ("patience=0", 1, 1, "early stopping"), ("patience=0", 4, 4, "steps"),
])
def test_stop_reason_is_a_limit_only_when_steps_were_left(clean_pool, tmp_path, limit, val_every, steps_done,
                                                           reason):
    """A run past its time budget or patience at its last validation has still done every step: it must not be
    logged as cut."""
    cfg = load_config(CONFIG, _overrides(clean_pool, tmp_path / "run", f"val_every={val_every}", limit))
    summary = train(cfg)
    assert (summary["steps"], summary["stop_reason"]) == (steps_done, reason)
    assert read_metadata(tmp_path / "run" / "last.safetensors")["metrics"]["step"] == steps_done


MACHINE_KEYS = {"data.shards", "data.val_shards", "data.clean_dir", "out_dir", "device"}
OUTPUT_KEYS = {"keep_weights"}  # what a run writes besides its weights, not how they train


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out


def test_the_default_recipe_is_the_run_of_the_shipped_weights():
    """configs/ipad_clip_s.yaml holds what trained the shipped weights (their metadata records the config): same
    steps, budget, data and losses; only machine paths and output options (keep_weights) differ, the config may
    state arch options whose default has changed since, and options added since are at their defaults."""
    from ipad_iqa.registry import get_variant
    from ipad_iqa.weights import read_metadata, resolve_weights

    v = get_variant("ipad_clip")
    recorded = _flat(read_metadata(resolve_weights(v.name, v.weights))["config"])
    recorded["precision"] = recorded_precision(recorded)
    recipe = _flat(load_config(CONFIG.parents[1] / v.training_config).to_dict())
    defaults = _flat(load_config(None).to_dict())
    differ = {k: (recipe.get(k), recorded.get(k)) for k in set(recipe) | set(recorded)
              if k not in MACHINE_KEYS | OUTPUT_KEYS and recipe.get(k) != recorded.get(k)
              and not (k not in recorded and (k.startswith("arch.") or recipe.get(k) == defaults.get(k)))}
    assert not differ, f"recipe vs shipped weights: {differ}"
