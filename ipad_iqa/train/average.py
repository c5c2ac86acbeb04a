"""Weighted averages of checkpoints of one architecture ("weight soups").

Checkpoints continued from a common start usually lie in one basin of the loss, so a convex combination of their
weights is itself a working model; it can keep what each of them learned from a different data mix without more
training, which is the only lever that costs no compute on a CPU budget.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ipad_iqa.weights import WeightsError, read_checkpoint, save_weights, sha256_file

# the parts of a training config that decide the network's shape and inference; they must agree
MODEL_KEYS: tuple[str, ...] = ("method", "variant", "arch")


def average_weights(members: Sequence[tuple[str | os.PathLike, float]], out: str | os.PathLike) -> str:
    """Write ``sum(coef * weights)`` of ``members`` (path, coef) to ``out``; returns its sha256.

    Coefficients must be positive and sum to 1. Every member must hold the same tensors (names, shapes,
    dtypes) and have been trained as the same model (``MODEL_KEYS`` of its config, and the same start file for
    head-only checkpoints). The average is taken in float32 and stored in the members' dtype. The metadata keeps
    the first member's config (what ``load_trained`` rebuilds the model from) and lists every member with its
    sha256, coefficient and metrics. ``out`` must not exist.
    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists: not overwriting it")
    if len(members) < 2:
        raise ValueError(f"an average needs at least 2 checkpoints, got {len(members)}")
    coefs = [float(c) for _, c in members]
    if not all(math.isfinite(c) and c > 0 for c in coefs):
        raise ValueError(f"coefficients must be positive and finite, got {coefs}")
    if abs(sum(coefs) - 1.0) > 1e-6:
        raise ValueError(f"coefficients must sum to 1, got {coefs} (sum {sum(coefs):.6g})")

    first_path = Path(members[0][0])
    first_state, first_meta = read_checkpoint(first_path)
    acc = {k: v.float() * coefs[0] if v.is_floating_point() else v for k, v in first_state.items()}
    listed = []
    for i, (path, coef) in enumerate(members):
        path = Path(path)
        state, meta = (first_state, first_meta) if i == 0 else read_checkpoint(path)
        cfg = meta.get("config")
        if not isinstance(cfg, dict):
            raise WeightsError(f"{path}: no training config in its metadata; not written by `ipad-iqa train`")
        differ = [k for k in MODEL_KEYS if cfg.get(k) != first_meta["config"].get(k)]  # checked at i == 0
        if meta.get("start_sha256") != first_meta.get("start_sha256"):
            differ.append("start_sha256")
        if differ:
            raise WeightsError(f"{path} was not trained as the same model as {first_path}: {differ} differ")
        if set(state) != set(first_state):
            extra, missing = sorted(set(state) - set(first_state)), sorted(set(first_state) - set(state))
            raise WeightsError(f"{path} holds other tensors than {first_path}: extra {extra[:5]}, "
                               f"missing {missing[:5]}")
        bad = [k for k, v in state.items() if v.shape != first_state[k].shape or v.dtype != first_state[k].dtype]
        if bad:
            raise WeightsError(f"{path}: shape or dtype differs from {first_path} for {bad[:5]}")
        nonfinite = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if nonfinite:
            raise WeightsError(f"{path}: non-finite values in {nonfinite[:5]}")
        unequal = [k for k, v in state.items() if not v.is_floating_point() and not torch.equal(v, first_state[k])]
        if unequal:  # integer buffers (indices, counters) have no meaningful average
            raise WeightsError(f"{path}: non-float tensors differ from {first_path}: {unequal[:5]}")
        if i > 0:
            for k, v in state.items():
                if v.is_floating_point():
                    acc[k] += v.float() * coef
        listed.append({"path": str(path), "sha256": sha256_file(path), "coef": coef,
                       "metrics": meta.get("metrics")})
    averaged = {k: v.to(first_state[k].dtype) for k, v in acc.items()}
    meta = {k: first_meta[k] for k in ("method", "variant", "config", "start_sha256") if k in first_meta}
    meta["averaged_from"] = listed
    return save_weights(averaged, out, meta)
