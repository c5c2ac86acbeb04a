"""Where a training step of the shipped recipe spends its time: the split ``train_throughput.py`` cannot give.

One step of ``configs/ipad_clip_s.yaml`` (same batch, precision and threads; random weights, which cost what
trained ones do) is cut into its phases by ``train.loop.train_step`` itself: the forward pass (text anchors and
image views), the losses, the backward, gradient clipping and the optimizer. Batches are read from the shards before
the clock starts: the data side is ``train_throughput.py``'s. A profiled step then ranks the operators by their own
CPU time, so that a speed-up is aimed at what costs. Writes ``benchmarks/results/train_profile.json``.

    python benchmarks/train_profile.py --shards SHARDS --val-shards VAL [--steps 10] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import write_results
from torch.profiler import ProfilerActivity, profile
from torch.utils.data import DataLoader

from ipad_iqa.baselines.networks import build_model
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets, _optimizer, _Step, train_step

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "ipad_clip_s.yaml"
PHASES = ("forward", "loss", "backward", "clip", "optimizer")
WARMUP = 2  # steps before timing: oneDNN picks its kernels on the first ones


def step_phases(model, runner, opt, batch: dict, cfg) -> dict[str, float]:
    """One step of the training loop's own ``train_step``; seconds per phase."""
    times, t = {}, time.perf_counter()

    def tick(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        times[name], t = now - t, now

    train_step(model, runner, opt, batch, cfg, torch.device("cpu"), tick)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", required=True)
    parser.add_argument("--val-shards", required=True)
    parser.add_argument("--steps", type=int, default=10, help="timed steps (after warm-up)")
    parser.add_argument("--batch", type=int, default=None, help="crops per step (default: the recipe's)")
    parser.add_argument("--top", type=int, default=15, help="operators listed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        cfg = load_config(RECIPE, [f"data.shards={args.shards}", f"data.val_shards={args.val_shards}",
                                   "data.val_samples=4", "init_weights=null", "init_fresh=[]", f"out_dir={out}"])
    batch_size = args.batch or cfg.optim.batch_size
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.num_threads)
    model = build_model(cfg).train()
    opt, runner = _optimizer(model, cfg), _Step(model)
    train_set, _ = _datasets(cfg)
    loader = iter(DataLoader(train_set, batch_size=batch_size, drop_last=True))
    batches = [next(loader) for _ in range(WARMUP + args.steps + 1)]
    for batch in batches[:WARMUP]:
        step_phases(model, runner, opt, batch, cfg)
    timed = [step_phases(model, runner, opt, batch, cfg) for batch in batches[WARMUP:-1]]
    mean = {p: sum(t[p] for t in timed) / len(timed) for p in PHASES}
    total = sum(mean.values())
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step_phases(model, runner, opt, batches[-1], cfg)
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    op_total = sum(e.self_cpu_time_total for e in ops)
    result = {
        "recipe": RECIPE.name, "precision": cfg.precision, "batch": batch_size, "threads": cfg.num_threads,
        "timed_steps": len(timed), "step_s": round(total, 3), "samples_per_s": round(batch_size / total, 1),
        "phases_s": {p: round(v, 3) for p, v in mean.items()},
        "phase_share": {p: round(v / total, 3) for p, v in mean.items()},
        "top_ops": [{"op": e.key, "self_cpu_share": round(e.self_cpu_time_total / op_total, 3),
                     "calls": e.count} for e in ops[:args.top]],
    }
    write_results("train_profile", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
