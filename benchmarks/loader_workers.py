"""Usage: python benchmarks/loader_workers.py SHARDS VAL_SHARDS 40 configs/ipad_clip_s.yaml (rule 68679ca). Shard-side training samples/s with 0 vs 1 data-loader workers, alternated ABAB. Exploration only."""
import sys, tempfile, json
import torch
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import train
shards, val, steps, config = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
out = {0: [], 1: []}
for rep in range(3):
    for w in ((1, 0) if rep % 2 else (0, 1)):
        with tempfile.TemporaryDirectory() as d:
            cfg = load_config(config, [f"data.shards={shards}", f"data.val_shards={val}", f"out_dir={d}",
                f"optim.steps={steps}", "optim.batch_size=32", "optim.warmup_steps=1", f"val_every={steps + 1}",
                "data.val_samples=4", f"data.num_workers={w}", "num_threads=2", "init_weights=null", "init_fresh=[]"])
            s = train(cfg, progress=False)
        out[w].append(s["steps"] * 32 / s["seconds"])
        print(w, out[w][-1], flush=True)
print(json.dumps(out))
