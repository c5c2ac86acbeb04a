"""Usage: python benchmarks/grad_snr.py SHARDS VAL_SHARDS [BATCHES [WEIGHTS]]. Exploration (stop 45; WEIGHTS, stop 46:
the same probe at one weights file instead of the start and the shipped weights).

Why does the backbone barely move in training (History: it ends within 0.006 of v1's weights)? Adam steps each
weight by about lr * mean(g) / rms(g), so a weight whose gradient changes sign from batch to batch hardly moves. For
the recipe's model at its start (v1's weights, fresh decoder) and at the shipped weights, the per-batch gradients of
BATCHES batches of 32 training crops give, per parameter group (the conv stem, the rest of the towers, the decoder and the rest of the
head), the median over weights of |mean g| / rms g. Gradients that are pure noise give about 1 / sqrt(BATCHES).
"""
import json
import sys

import torch

from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets, _float, _Step
from ipad_iqa.train.losses import ipad_loss
from ipad_iqa.baselines.networks import build_model

torch.set_num_threads(2)
shards, val_shards = sys.argv[1], sys.argv[2]
n_batches = int(sys.argv[3]) if len(sys.argv) > 3 else 16


def group(name: str, head_prefixes: tuple[str, ...]) -> str:
    if name.startswith("decoder."):
        return "decoder"
    if name.startswith(head_prefixes):
        return "head (other)"
    if ".stem." in name or "conv1" in name or "patch" in name:
        return "stem"
    return "towers (other)"


def snr(cfg_overrides: list[str]) -> dict:
    cfg = load_config("configs/ipad_clip_s.yaml", [f"data.shards={shards}", f"data.val_shards={val_shards}",
                                                    "data.val_samples=4", *cfg_overrides])
    torch.manual_seed(0)
    model = build_model(cfg).train()
    runner = _Step(model)
    train_set, _ = _datasets(cfg)
    loader = torch.utils.data.DataLoader(train_set, batch_size=32)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    s1 = {n: 0.0 for n in names}
    s2 = {n: 0.0 for n in names}
    for b, batch in zip(range(n_batches), loader):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, t = runner(batch["image"])
        loss, _ = ipad_loss(model, _float(out), t.float(), batch["masks"], batch["label"], cfg.loss, batch["valid"])
        model.zero_grad(set_to_none=True)
        loss.backward()
        for n, p in model.named_parameters():
            if n in s1 and p.grad is not None:
                g = p.grad.detach().float()
                s1[n] = s1[n] + g
                s2[n] = s2[n] + g * g
    ratios: dict[str, list] = {}
    for n in names:
        if isinstance(s1[n], float):
            continue
        r = (s1[n] / n_batches).abs() / (s2[n] / n_batches).sqrt().clamp(min=1e-20)
        ratios.setdefault(group(n, model.head_prefixes), []).append(r.flatten())
    return {k: {"median": float(torch.cat(v).median()), "weights": int(sum(x.numel() for x in v))}
            for k, v in sorted(ratios.items())}


noise = torch.randn(n_batches, 1_000_000, generator=torch.Generator().manual_seed(0))
floor = float((noise.mean(0).abs() / noise.pow(2).mean(0).sqrt()).median())
if len(sys.argv) > 4:
    print(json.dumps({"batches": n_batches, "noise_floor": floor,
                      sys.argv[4]: snr([f"init_weights={sys.argv[4]}", "init_fresh=[]", "init_drop=[]"])}, indent=1))
    sys.exit(0)
print(json.dumps({"batches": n_batches, "noise_floor": floor,
                  "start (v1 weights, fresh decoder)": snr([]),
                  "shipped weights": snr(["init_weights=ipad_iqa/assets/ipad_clip_s.safetensors", "init_fresh=[]",
                                          "init_drop=[]"])}, indent=1))
