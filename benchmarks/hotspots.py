"""Where the time of the default metric goes: torch.profiler over a few calls, operators by self CPU time.

Usage: python benchmarks/hotspots.py [--size 1920x1080] [--runs 3] [--top 12] [--maps]
Writes benchmarks/results/hotspots.json: the share of CPU time per operator (self time, so nested calls are
not counted twice) and its milliseconds per call. Shares are steadier under load than absolute times.
"""

from __future__ import annotations

import argparse

import torch
from common import parse_size, synthetic_image, write_results
from torch.profiler import ProfilerActivity, profile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=parse_size, default=(1920, 1080), help="WxH of the synthetic input")
    ap.add_argument("--runs", type=int, default=3, help="profiled calls after one warm-up")
    ap.add_argument("--top", type=int, default=12, help="operators listed")
    ap.add_argument("--maps", action="store_true", help="profile metric(x, return_maps=True)")
    ap.add_argument("--metric", default="ipad_clip")
    args = ap.parse_args()

    import pyiqa

    import ipad_iqa  # noqa: F401  (registers the metrics)

    metric = pyiqa.create_metric(args.metric, device="cpu")
    width, height = args.size
    x = synthetic_image(height, width)
    with torch.inference_mode():
        metric(x, return_maps=args.maps)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.runs):
                metric(x, return_maps=args.maps)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ops = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[: args.top]
    rows = [{"op": e.key, "calls": e.count // args.runs, "self_share": e.self_cpu_time_total / total,
             "self_ms_per_call": e.self_cpu_time_total / 1000 / args.runs} for e in ops]
    for r in rows:
        print(f"{r['self_share']:6.1%}  {r['self_ms_per_call']:8.1f} ms  {r['calls']:6d}x  {r['op']}")
    write_results("hotspots", {"metric": args.metric, "width": width, "height": height, "maps": args.maps,
                              "runs": args.runs, "total_self_ms_per_call": total / 1000 / args.runs,
                              "ops": rows})


if __name__ == "__main__":
    main()
