"""Training samples/s from IPAD-Synth v2 shards against the v1 on-the-fly pipeline: same model, same cores.

For each model, two runs train it for the same number of steps with one data-loader worker; only the data
source differs. v1 synthesizes every sample from a decoded photo (canvas 224-512, as its last recipe); shards
decode a stored canvas and cut a crop. Two models, because which side bounds the rate depends on the model: the
shipped recipe's (``configs/ipad_clip_s.yaml``, pyramid decoder at stride 4) and v1's (``configs/ipad_clip_v1.yaml``,
stride 16, the model the target was set for), both from random weights. Target: shards at least 3x the v1 rate.
Each data source is also timed alone (samples/s of the training dataset in this process, no model). Writes
``benchmarks/results/train_throughput.json``; exit 1 when no model reaches the target.

On 2 CPU cores the model step bounds both runs, whatever the data side does. ``--device cuda`` takes the model off
the cores; ``gpu/train.sh`` runs it so under ``taskset -c 0,1``, the data side on two CPUs, after its training.

    python benchmarks/train_throughput.py --shards SHARDS --val-shards VAL --clean-dir PHOTOS [--steps 100]
        [--precision float32]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import write_results

from ipad_iqa.train.config import PRECISIONS, TrainConfig, load_config
from ipad_iqa.train.loop import _datasets, train

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# model name -> its recipe: the shipped one first
MODELS = {"ipad_clip": CONFIGS / "ipad_clip_s.yaml", "ipad_clip_v1": CONFIGS / "ipad_clip_v1.yaml"}
TARGET = 3.0
THREADS, WORKERS = 2, 1  # torch threads and data-loader workers of both runs


def rate(recipe: Path, overrides: list[str], steps: int, batch: int) -> float:
    """Samples/s of ``steps`` training steps of ``recipe`` with ``overrides`` (first step included)."""
    with tempfile.TemporaryDirectory() as out:
        cfg = load_config(recipe, [*overrides, f"out_dir={out}", f"optim.steps={steps}", f"optim.batch_size={batch}",
                                   "optim.warmup_steps=1", f"val_every={steps + 1}", "data.val_samples=4",
                                   f"data.num_workers={WORKERS}", f"num_threads={THREADS}", "init_weights=null", "init_fresh=[]"])
        summary = train(cfg)
    return summary["steps"] * batch / summary["seconds"]


def data_rate(recipe: Path, overrides: list[str], samples: int) -> float:
    """Samples/s of ``recipe``'s training dataset with ``overrides`` alone: what the data side could feed."""
    with tempfile.TemporaryDirectory() as out:
        cfg = load_config(recipe, [*overrides, f"out_dir={out}", "data.val_samples=4", "init_weights=null"])
        dataset, _ = _datasets(cfg)
        dataset[0]  # opening shards or the photo list is not per-sample work
        start = time.perf_counter()
        for i in range(1, samples + 1):
            dataset[i]
    return samples / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", required=True)
    parser.add_argument("--val-shards", required=True)
    parser.add_argument("--clean-dir", required=True)
    # a run long enough that its first step (oneDNN choosing kernels) and the loader's start stop
    # dominating the faster source's time, at the batch the recipe trains with
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=None, help="crops per step (default: the shipped recipe's)")
    parser.add_argument("--device", default="cpu", help="where the model trains: cpu or cuda")
    parser.add_argument("--precision", choices=PRECISIONS, default=TrainConfig().precision,
                        help="arithmetic of both models' forward passes (default: training's default)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    args.batch = args.batch or load_config(MODELS["ipad_clip"]).optim.batch_size
    both = [f"device={args.device}", f"precision={args.precision}"]
    shard_data = [f"data.shards={args.shards}", f"data.val_shards={args.val_shards}", *both]
    v1_data = ["data.shards=null", "data.val_shards=null", f"data.clean_dir={args.clean_dir}",
               "data.canvas_sizes=[224,512]", *both]
    models = {}
    for name, recipe in MODELS.items():
        shards = rate(recipe, shard_data, args.steps, args.batch)
        v1 = rate(recipe, v1_data, args.steps, args.batch)
        models[name] = {"v1_on_the_fly_samples_s": v1, "v2_shards_samples_s": shards, "ratio": shards / v1}
    samples = args.steps * args.batch
    result = {"steps": args.steps, "batch": args.batch, "threads": THREADS, "workers": WORKERS, "device": args.device,
              "precision": args.precision,
              "cpus": len(os.sched_getaffinity(0)), "models": models,
              "target_ratio": TARGET,
              "data_only_samples_s": {"v1_on_the_fly": data_rate(MODELS["ipad_clip_v1"], v1_data, samples),
                                      "v2_shards": data_rate(MODELS["ipad_clip"], shard_data, samples)}}
    write_results("train_throughput", result)
    print(json.dumps(result, indent=1))
    return 0 if max(m["ratio"] for m in models.values()) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
