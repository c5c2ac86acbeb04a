"""Training configuration: YAML files in configs/, dotted ``--set key=value`` overrides, frozen dataclasses.

A config file may name another as ``base: PATH`` (relative to the file): it then holds only what differs from
that base, mapping by mapping, so that the baselines and the smoke run state their changes to one recipe.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ipad_iqa.baselines.networks import NetworkConfig
from ipad_iqa.data.synth.ghosting import DEFAULT_MODE_PROBS
from ipad_iqa.utils import typed_fields

#: Environment variable naming the clean photo pool when neither a config nor the command line does.
DATA_ENV = "IPAD_IQA_DATA"


@dataclass(frozen=True)
class LossWeights:
    focal: float = 1.0  # per-pixel focal loss over (clean, ghosting, flare, moire), every tapped layer
    dice: float = 1.0  # per-class soft dice on the maps, every tapped layer
    image_ce: float = 1.0  # class-token cross-entropy over the four image labels
    fused_bce: float = 1.0  # BCE on the fused class probabilities (what users read)
    separation: float = 0.1  # keeps clean and artifact anchors apart
    focal_gamma: float = 2.0


@dataclass(frozen=True)
class DataConfig:
    clean_dir: str | None = None  # pool of clean photos; train-split scenes only are used
    canvas_sizes: tuple[int, int] = (256, 448)
    crop_size: int = 224
    class_probs: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25)
    severity_range: tuple[float, float] = (0.0, 1.0)
    # probabilities of the ghosting modes (motion, fusion, optical, reflection); the default is IPAD-Synth v1's
    ghosting_modes: tuple[float, float, float, float] = DEFAULT_MODE_PROBS
    reflection_scene: str = "self"  # "self" or "other": what a reflection shows (see ipad_iqa.data.synth.ghosting)
    num_workers: int = 2
    val_samples: int = 128  # fixed synthetic validation set over val-split scenes
    # IPAD-Synth v2 shards (`ipad-iqa make-shards`): train from them instead of synthesizing on the fly
    shards: str | None = None
    val_shards: str | None = None


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 5e-4
    backbone_lr: float = 5e-4  # used only when the backbone is trainable
    weight_decay: float = 0.05
    batch_size: int = 16  # per process
    steps: int = 2000
    warmup_steps: int = 100
    grad_clip: float = 1.0


PRECISIONS = ("float32", "bfloat16")


@dataclass(frozen=True)
class TrainConfig(NetworkConfig):
    """A whole recipe: the network (``NetworkConfig``: method, variant, arch, start weights, seed) and how it
    trains."""

    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    loss: LossWeights = LossWeights()
    out_dir: str = "runs/ipad_clip_s"
    val_every: int = 200
    log_every: int = 10
    patience: int = 5  # validations without a lower validation loss before early stopping
    max_minutes: float | None = None  # wall-clock budget; stops cleanly at a validation, its weights exported
    # Also keep the weights of every validation (step_NNNNNN.safetensors): a learning curve needs the weights
    # along the way, and last.safetensors holds only the latest.
    keep_weights: bool = False
    save_dtype: str = "float16"
    device: str = "cpu"
    # CPU threads per process (None = torch's default). 1 avoids OpenMP stalls when sharing cores with workers.
    num_threads: int | None = None
    # Arithmetic of the training step's forward pass. "bfloat16" runs it under autocast, with losses, weights and
    # validation in float32: faster where the hardware has bfloat16 (AMX CPUs, recent GPUs) and as accurate
    # (docs/history.md); elsewhere it is emulated, so set "float32" there.
    precision: str = "bfloat16"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def recorded_precision(recorded: dict[str, Any]) -> str:
    """The precision a recorded run config (a checkpoint's or weights' metadata) trained in: configs from
    before the option existed trained in float32."""
    return recorded.get("precision", "float32")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Instantiate nested frozen dataclasses from plain dicts, refusing unknown keys and wrong types."""
    nested = {f.name: type(f.default) for f in dataclasses.fields(cls) if dataclasses.is_dataclass(f.default)}
    values = typed_fields(cls, {k: v for k, v in data.items() if k not in nested}, f"option(s) in {where}")
    for name in nested.keys() & data.keys():
        values[name] = _build(nested[name], data[name] or {}, f"{where}.{name}")
    return cls(**values)


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from plain data, e.g. the ``config`` stored in a checkpoint's metadata."""
    return _build(TrainConfig, data, "config")


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: nested mappings are merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in changes.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both else value
    return out


def read_config_file(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The plain data of a YAML config, its ``base`` chain resolved."""
    path = Path(path)
    if path.resolve() in _chain:
        raise ValueError(f"{path}: its base chain comes back to it ({' -> '.join(map(str, _chain))})")
    if not path.is_file():
        raise FileNotFoundError(f"config {path} not found")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a mapping of options")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ValueError(f"{path}: base must be the path of another config, got {base!r}")
    return _merged(read_config_file(path.parent / base, (*_chain, path.resolve())), data)


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML config and apply ``key=value`` overrides (values parsed as YAML: 3, 1e-4, [1, 2], null).

    Data locations belong to the machine, not to the recipe: ``data.clean_dir``, when neither the file nor an
    override sets it, comes from the environment variable ``IPAD_IQA_DATA``.
    """
    data: dict[str, Any] = read_config_file(path) if path else {}
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        _set_dotted(data, key.strip(), yaml.safe_load(raw))
    if not (data.get("data") or {}).get("clean_dir") and os.environ.get(DATA_ENV):
        _set_dotted(data, "data.clean_dir", os.environ[DATA_ENV])
    return config_from_dict(data)
