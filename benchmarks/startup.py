"""First-call start-up time: a fresh Python process that imports ipad_iqa and creates the default metric.

Usage: python benchmarks/startup.py [--runs 5] [--metric ipad_clip]
Writes benchmarks/results/startup.json. Each run is a new interpreter (nothing cached in memory; the OS file
cache is warm after the first run, as it is for a user's second command). Reported per stage:
  import torch / import pyiqa / import ipad_iqa (open_clip, registration) / pyiqa.create_metric /
  first call on a 512x512 image / second call (steady state), and the whole process wall time
  (interpreter start to exit) of `python -c "import ipad_iqa, pyiqa; pyiqa.create_metric(...)"`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import busy_training_run, run_child, summary, write_results

STAGES = ("import_torch", "import_pyiqa", "import_ipad_iqa", "create_metric", "first_call", "second_call")


def child(metric_name: str) -> dict:
    t = [time.perf_counter()]
    import torch

    t.append(time.perf_counter())
    import pyiqa

    t.append(time.perf_counter())
    import ipad_iqa  # noqa: F401

    t.append(time.perf_counter())
    metric = pyiqa.create_metric(metric_name, device="cpu")
    t.append(time.perf_counter())
    x = torch.rand(1, 3, 512, 512, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    metric(x)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    metric(x)
    second = time.perf_counter() - t0
    stages = [b - a for a, b in zip(t, t[1:], strict=False)]
    return dict(zip(STAGES, [*stages, first, second], strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--metric", default="ipad_clip")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.metric)))
        return
    contaminated = busy_training_run()
    runs = [run_child([__file__, "--child", "--metric", args.metric]) for _ in range(args.runs)]
    stages = {s: summary([r[s] for r in runs]) for s in STAGES}
    code = f"import ipad_iqa, pyiqa; pyiqa.create_metric({args.metric!r}, device='cpu')"
    walls = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    for s in STAGES:
        print(f"{s:16s} {stages[s]['median']:.3f} s", file=sys.stderr)
    print(f"process wall     {summary(walls)['median']:.3f} s", file=sys.stderr)
    write_results("startup", {"metric": args.metric, "runs": args.runs, "training_run_sharing_cpu": contaminated,
                              "stages": stages, "process_wall": summary(walls), "command": code})


if __name__ == "__main__":
    main()
