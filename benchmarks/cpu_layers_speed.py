"""Usage: python benchmarks/cpu_layers_speed.py SHARDS VAL_SHARDS [STEPS]. Rule 953279f (stop 46).

For the recipe's model (configs/ipad_clip_s.yaml) and v1's (configs/ipad_clip_v1.yaml): two copies from the same
random weights, one with torch's own GroupNorm and MultiheadAttention classes put back, one with
ipad_iqa.model.cpu_layers', stepped alternately on the same batches (3 warm-up steps, STEPS timed, batch 32, 2
threads, the recipe's precision). Prints the median step of each, the ratio and the first 5 losses of both.
"""
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from ipad_iqa.baselines.networks import build_model
from ipad_iqa.model.cpu_layers import GroupNorm, SelfAttention
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets, _optimizer, _Step, train_step

shards, val_shards = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
WARMUP = 3
configs = Path(__file__).resolve().parents[1] / "configs"
torch.set_num_threads(2)
for recipe in ("ipad_clip_s.yaml", "ipad_clip_v1.yaml"):
    with tempfile.TemporaryDirectory() as out:
        cfg = load_config(configs / recipe, [f"data.shards={shards}", f"data.val_shards={val_shards}", "data.val_samples=4",
                                             "init_weights=null", "init_fresh=[]", f"out_dir={out}", "optim.batch_size=32",
                                             "precision=bfloat16"])
    torch.manual_seed(cfg.seed)
    new = build_model(cfg).train()
    old = copy.deepcopy(new)
    for m in old.modules():  # the torch parents back: what the model ran before cpu_layers
        if type(m) is GroupNorm:
            m.__class__ = nn.GroupNorm
        elif type(m) is SelfAttention:
            m.__class__ = nn.MultiheadAttention
    assert not any(isinstance(m, (GroupNorm, SelfAttention)) for m in old.modules())
    runs = {name: (m, _Step(m), _optimizer(m, cfg), [], []) for name, m in (("torch", old), ("cpu_layers", new))}
    train_set, _ = _datasets(cfg)
    loader = iter(DataLoader(train_set, batch_size=32, drop_last=True))
    for i in range(WARMUP + steps):
        batch = next(loader)
        for name, (m, runner, opt, times, losses) in runs.items():
            start = time.perf_counter()
            loss, _ = train_step(m, runner, opt, batch, cfg, torch.device("cpu"))
            times.append(time.perf_counter() - start)
            losses.append(float(loss))
    med = {name: statistics.median(r[3][WARMUP:]) for name, r in runs.items()}
    print(f"{recipe}: median step torch {med['torch']:.3f} s, cpu_layers {med['cpu_layers']:.3f} s, "
          f"{1 - med['cpu_layers'] / med['torch']:.1%} shorter; first losses torch "
          f"{[round(x, 4) for x in runs['torch'][4][:5]]}, cpu_layers {[round(x, 4) for x in runs['cpu_layers'][4][:5]]}",
          flush=True)
