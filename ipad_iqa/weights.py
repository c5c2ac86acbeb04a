"""The only loader of IPAD weights: explicit path > packaged file > cache > URL, sha256 checked always.

Downloads happen only when allowed (``HF_HUB_OFFLINE`` / ``IPAD_IQA_OFFLINE`` unset) and a failure says
which file is missing, where it was looked for and how to provide it. Files are safetensors; a checkpoint
is validated against the model before any tensor is copied, so a bad file never leaves a half-loaded model.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

PACKAGE_DIR = Path(__file__).resolve().parent
FORMAT = "ipad-iqa/1"
_TRUTHY = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class WeightsSpec:
    """Where a variant's trained IPAD weights come from (the ``weights`` entry of registry.yaml); ``file`` is
    relative to the package."""

    sha256: str
    file: str | None = None
    url: str | None = None


class WeightsError(RuntimeError):
    """Weights are missing, corrupt, or do not fit the model."""


class WeightsMismatchError(WeightsError):
    """A readable checkpoint whose keys or shapes do not fit the model (the caller may say which model would)."""


def cache_dir() -> Path:
    """``$IPAD_IQA_CACHE``, else ``<torch.hub dir>/ipad_iqa``."""
    env = os.environ.get("IPAD_IQA_CACHE")
    return Path(env) if env else Path(torch.hub.get_dir()) / "ipad_iqa"


def downloads_allowed() -> bool:
    return not any(os.environ.get(v, "").lower() in _TRUTHY for v in ("HF_HUB_OFFLINE", "IPAD_IQA_OFFLINE"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, sha256: str) -> Path:
    actual = sha256_file(path)
    if actual != sha256:
        raise WeightsError(f"{path}: sha256 {actual} does not match the registry's {sha256}; the file is corrupt "
                           "or from another release. Delete it and provide the right file.")
    return path


def _download(url: str, dest: Path, sha256: str) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part") as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as err:
            os.unlink(tmp.name)
            raise WeightsError(f"download of {url} failed: {err}") from err
    try:
        _verified(Path(tmp.name), sha256)
    except WeightsError:
        os.unlink(tmp.name)
        raise
    os.replace(tmp.name, dest)
    return dest


def resolve_weights(name: str, spec: WeightsSpec | None, override: str | os.PathLike | None = None) -> Path:
    """Path of the weights file of variant ``name``, fetching it only if allowed."""
    if override is not None:
        path = Path(override).expanduser()
        if not path.is_file():
            raise WeightsError(f"{name}: head_weights={str(override)!r} does not exist")
        return path
    if spec is None:
        raise WeightsError(f"{name}: no weights are registered (weights: null in registry.yaml)")
    looked: list[str] = []
    if spec.file:
        packaged = PACKAGE_DIR / spec.file
        looked.append(str(packaged))
        if packaged.is_file():
            return _verified(packaged, spec.sha256)
    filename = Path(spec.file or spec.url.rsplit("/", 1)[-1]).name
    cached = cache_dir() / filename
    looked.append(str(cached))
    if cached.is_file():
        return _verified(cached, spec.sha256)
    if spec.url and downloads_allowed():
        return _download(spec.url, cached, spec.sha256)
    reason = "downloads are disabled (HF_HUB_OFFLINE/IPAD_IQA_OFFLINE)" if spec.url else "no URL is registered"
    raise WeightsError(
        f"{name}: weights file {filename} not found; looked in {looked}; {reason}. Provide it with "
        f"head_weights='/path/to/{filename}', or copy it into {cache_dir()} (set IPAD_IQA_CACHE to change).")


def save_weights(state: Mapping[str, torch.Tensor], path: str | os.PathLike, metadata: Mapping[str, object],
                 dtype: torch.dtype | None = None) -> str:
    """Write a safetensors checkpoint with JSON metadata; returns its sha256."""
    tensors = {}
    for key, value in state.items():
        value = value.detach().cpu()
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        tensors[key] = value.contiguous()
    meta = {"format": FORMAT, **{k: json.dumps(v) for k, v in metadata.items()}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)
    return sha256_file(path)


def read_metadata(path: str | os.PathLike) -> dict[str, object]:
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    return {k: (v if k == "format" else json.loads(v)) for k, v in meta.items()}


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """The tensors and the metadata of a checkpoint; an unreadable file is a WeightsError naming it."""
    try:
        return load_file(str(path)), read_metadata(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(f"{path}: not a readable safetensors checkpoint ({err})") from err


def read_keys(path: str | os.PathLike) -> set[str]:
    """The tensor names of a checkpoint, without loading the tensors."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            return set(fh.keys())
    except (SafetensorError, OSError) as err:
        raise WeightsError(f"{path}: not a readable safetensors checkpoint ({err})") from err


def _compact_token_tables(state: dict[str, torch.Tensor], expected: Mapping[str, torch.Tensor]) -> None:
    """Checkpoints written before text towers kept only their prompts' rows (``TextTower``) hold the whole
    token table: take the model's rows from it, so that such a checkpoint still loads."""
    for ids_key in [k for k in expected if k.endswith("token_ids") and k not in state]:
        table = ids_key.removesuffix("token_ids") + "token_embedding.weight"
        ids = expected[ids_key]
        if table in state and state[table].shape[0] > int(ids.max()):
            state[table], state[ids_key] = state[table][ids], ids


def load_into(model: torch.nn.Module, path: str | os.PathLike, required_prefixes: tuple[str, ...],
              only: tuple[str, ...] | None = None, drop: tuple[str, ...] = ()) -> None:
    """Load a checkpoint into ``model`` after checking every key and shape.

    The file may hold the whole model or only its head; keys under ``required_prefixes`` must all be present.
    ``only``: load just the file's keys under these prefixes (e.g. the CLIP towers of another method's
    checkpoint, whose head does not fit this model) and ignore the rest of the file.
    ``drop``: glob patterns of the file's keys to leave out, parameters this model no longer has; any other
    key the model lacks is still an error.
    """
    state, meta = read_checkpoint(path)
    fmt = meta.get("format")
    if fmt != FORMAT:
        raise WeightsError(f"{path}: format {fmt!r} is not {FORMAT!r}; not an ipad-iqa checkpoint")
    if only is not None:
        state = {k: v for k, v in state.items() if k.startswith(only)}
    state = {k: v for k, v in state.items() if not any(fnmatch.fnmatchcase(k, pattern) for pattern in drop)}
    expected = model.state_dict()
    _compact_token_tables(state, expected)
    unexpected = sorted(set(state) - set(expected))
    missing = sorted(k for k in expected if k.startswith(required_prefixes) and k not in state)
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    problems = []
    if unexpected:
        problems.append(f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
    if missing:
        problems.append(f"missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}")
    if wrong:
        problems.append(f"shape mismatch for {wrong[:5]} (file vs model)")
    if problems:
        raise WeightsMismatchError(f"{path} does not fit this model: {'; '.join(problems)}")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise WeightsError(f"{path}: non-finite values in {bad[:5]}")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=False)
