"""Export the weights of a run's resume state (``last.pt``) as a weights file, for runs trained before every
validation exported ``last.safetensors`` (stop 50's seed runs kept only their lowest-validation-loss weights).
Those runs predate the moiré cue, so their config is read without it.

    python benchmarks/export_resume_state.py RUN/last.pt OUT.safetensors
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ipad_iqa.baselines.networks import build_model
from ipad_iqa.train.config import config_from_dict
from ipad_iqa.train.loop import export_weights

state = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
state["config"].setdefault("arch", {}).setdefault("moire_cue", False)  # recorded before the cue existed
cfg = config_from_dict(state["config"])
model = build_model(cfg)
model.load_state_dict(state["model"])
export_weights(model, Path(sys.argv[2]), cfg, {"step": state["step"]})
print(f"step {state['step']} -> {sys.argv[2]}")
