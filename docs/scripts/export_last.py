"""Write the final state of a training run (its ``last.pt``) as weights ``ipad-iqa evaluate --checkpoint`` loads.

``train`` exports only the validation with the lowest loss (``best.safetensors``). When no validation beats
the start, that file is the start itself; this shows what the run's training did all the same, for diagnosis
(never for shipping: the shipping rules are about ``best.safetensors``).

    python docs/scripts/export_last.py runs/ipad_clip_s/last.pt runs/ipad_clip_s/last.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ipad_iqa.train.config import config_from_dict
from ipad_iqa.train.loop import export_weights
from ipad_iqa.train.models import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("last", type=Path, help="last.pt of a run")
    parser.add_argument("out", type=Path, help="where to write the .safetensors (must not exist)")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} already exists: not overwriting it")
    state = torch.load(args.last, map_location="cpu", weights_only=True)
    cfg = config_from_dict(state["config"])
    model = build_model(cfg, start_weights=False)
    model.load_state_dict(state["model"])
    export_weights(model, args.out, cfg, {"step": state["step"], "exported_from": str(args.last)})
    print(f"{args.out}: step {state['step']} of {args.last}")


if __name__ == "__main__":
    main()
