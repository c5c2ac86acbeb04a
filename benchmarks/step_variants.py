"""Interleaved timing of training-step variants of a recipe on the same batches (rule c7692de).
usage: python benchmarks/step_variants.py SHARDS VAL STEPS BATCH CONFIG VARIANT[,VARIANT...]   variants: eager, compiled, channels_last"""
import sys, tempfile, time, json
import torch
from torch.utils.data import DataLoader
from ipad_iqa.baselines.networks import build_model
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets, _optimizer, _Step, train_step

shards, val, steps, batch, config, variants = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6].split(",")
with tempfile.TemporaryDirectory() as out:
    cfg = load_config(config, [f"data.shards={shards}", f"data.val_shards={val}", "data.val_samples=4",
                               "init_weights=null", "init_fresh=[]", f"out_dir={out}"])
torch.set_num_threads(2)
ts, _ = _datasets(cfg)
loader = iter(DataLoader(ts, batch_size=batch, drop_last=True))
batches = [next(loader) for _ in range(steps + 3)]
runs = {}
for v in variants:
    torch.manual_seed(0)
    model = build_model(cfg).train()
    if v == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    opt, runner = _optimizer(model, cfg), _Step(model)
    if v == "compiled":
        runner = torch.compile(runner)
    runs[v] = (model, opt, runner)
times = {v: [] for v in variants}
losses = {v: [] for v in variants}
warm = {}
for i, b in enumerate(batches):
    for v in variants:
        model, opt, runner = runs[v]
        if v == "channels_last":
            b = {**b, "image": b["image"].contiguous(memory_format=torch.channels_last)}
        t = time.perf_counter()
        loss, _ = train_step(model, runner, opt, b, cfg, torch.device("cpu"))
        dt = time.perf_counter() - t
        losses[v].append(float(loss.detach()))
        if i < 3:
            warm[v] = warm.get(v, 0) + dt
        else:
            times[v].append(dt)
res = {v: {"median_s": sorted(times[v])[len(times[v]) // 2], "mean_s": sum(times[v]) / len(times[v]),
           "warmup_s": warm[v], "first_losses": losses[v][:4]} for v in variants}
print(json.dumps(res, indent=1))
