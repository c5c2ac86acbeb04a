"""How far trained heads moved: the numbers behind "the fresh heads hardly leave their initialisation" on the
Results page.

    python docs/scripts/head_drift.py runs/ablations/ipad_ref/best.safetensors \
        runs/ablations/ipad_agnostic/best.safetensors ...

For each checkpoint written by ``ipad-iqa train``: the largest absolute change of any head parameter from the
initialisation its own config gives (same seed, so the start is rebuilt exactly); then, for checkpoints with
the same head layout, the largest absolute difference between them.
"""

from __future__ import annotations

import argparse
import itertools

import torch
from safetensors.torch import load_file

from ipad_iqa.baselines.networks import build_model
from ipad_iqa.train.config import config_from_dict
from ipad_iqa.weights import read_metadata


def head_state(path: str) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in load_file(path).items()}


def drift_from_init(path: str) -> tuple[float, str]:
    """Largest |trained - initial| over the file's parameters, and where it is."""
    start = build_model(config_from_dict(read_metadata(path)["config"])).state_dict()
    diffs = {k: (v - start[k].float()).abs().max().item() for k, v in head_state(path).items()}
    key = max(diffs, key=diffs.get)
    return diffs[key], key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    args = parser.parse_args()
    for path in args.checkpoints:
        value, key = drift_from_init(path)
        print(f"{path}: largest change from initialisation {value:.4f} ({key})")
    for a, b in itertools.combinations(args.checkpoints, 2):
        sa, sb = head_state(a), head_state(b)
        if sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape for k in sa):
            print(f"{a} vs {b}: largest difference {max((sa[k] - sb[k]).abs().max().item() for k in sa):.4f}")


if __name__ == "__main__":
    main()
