"""What the conv stem's full-resolution branch costs a training step, for an equal-compute comparison: the
recipe's step without (arch.fine_stem=false) and with the branch, interleaved on the same batches (medians of
20), and the steps of 1,200 without it that the same time buys with it.

    python benchmarks/fine_steptime.py SHARDS VAL_SHARDS
"""
from __future__ import annotations

import json
import statistics
import sys
import time

import torch
from torch.utils.data import DataLoader

from ipad_iqa.baselines.networks import build_model
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets, _optimizer, _Step, train_step

shards, val = sys.argv[1], sys.argv[2]
base = [f"data.shards={shards}", f"data.val_shards={val}", "data.val_samples=4",
        "init_fresh=[decoder., dense_adapter.]"]
torch.set_num_threads(2)
runs = {}
for name, extra in (("base", []), ("fine", ["arch.fine_stem=true"])):
    cfg = load_config("configs/ipad_clip_s.yaml", base + extra)
    torch.manual_seed(0)
    model = build_model(cfg).train()
    runs[name] = (cfg, model, _optimizer(model, cfg), _Step(model))
cfg = runs["base"][0]
train_set, _ = _datasets(cfg)
loader = iter(DataLoader(train_set, batch_size=cfg.optim.batch_size, drop_last=True))
batches = [next(loader) for _ in range(23)]
times = {k: [] for k in runs}
for i, b in enumerate(batches):
    for name, (c, m, o, r) in runs.items():
        t = time.perf_counter()
        train_step(m, r, o, b, c, torch.device("cpu"), lambda _: None)
        if i >= 3:
            times[name].append(time.perf_counter() - t)
res = {k: statistics.median(v) for k, v in times.items()}
res["ratio"] = res["fine"] / res["base"]
res["equal_compute_steps"] = round(1200 / res["ratio"])
print(json.dumps(res))
