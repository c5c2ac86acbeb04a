"""Which of a run's validated checkpoints would each way of choosing export?

Scores every ``step_NNNNNN.safetensors`` a run kept (``--set keep_weights=true``) with the recipe's validation
(``ipad_iqa.train.loop.validate``) on the run's own validation crops (its seed, the recipe's crop count), and
names the step each way picks: the lowest validation loss, the highest mean of the targets' six AUROCs
(``val_auroc``), the last step. The picks are then judged on the benchmark's val split with ``ipad-iqa
evaluate``, which this script does not do. Writes ``benchmarks/results/checkpoint_choice_<run name>.json``.

    python benchmarks/checkpoint_choice.py --run RUN --val-shards VAL_SHARDS
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from common import write_results
from torch.utils.data import DataLoader

from ipad_iqa.baselines.networks import build_model
from ipad_iqa.train.config import config_from_dict
from ipad_iqa.train.loop import _datasets, validate
from ipad_iqa.weights import read_metadata


def score_steps(run: Path, val_shards: str) -> list[dict[str, float]]:
    """``validate`` of each kept checkpoint of ``run``, in step order."""
    kept = sorted(run.glob("step_*.safetensors"))
    if not kept:
        raise SystemExit(f"{run}: no step_*.safetensors (train with --set keep_weights=true)")
    recorded = read_metadata(kept[0])["config"]  # the run's own config: its seed picks its crops, its losses
    data = {**recorded["data"], "shards": val_shards, "val_shards": val_shards}
    cfg = config_from_dict({**recorded, "data": data})
    _, canvases = _datasets(cfg)
    batches = list(DataLoader(canvases, batch_size=cfg.optim.batch_size))  # one run, one set of crops: read once
    rows = []
    for path in kept:
        step_cfg = config_from_dict({**recorded, "data": data, "init_weights": str(path), "init_fresh": [],
                                     "init_drop": []})
        rows.append({"step": int(path.stem.split("_")[1]), **validate(build_model(step_cfg), batches, step_cfg)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a training run's out_dir")
    parser.add_argument("--val-shards", required=True, help="the validation shards the run trained with")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    rows = score_steps(args.run, args.val_shards)
    picks = {"lowest_val_loss": min(rows, key=lambda r: r["val_loss"])["step"],
             "highest_val_auroc": max(rows, key=lambda r: r["val_auroc"])["step"],
             "last": rows[-1]["step"]}
    write_results(f"checkpoint_choice_{args.run.name}", {"run": str(args.run), "steps": rows, "picks": picks})
    print(json.dumps(picks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
