"""GPU figures of the default metric: latency by image size and a batch-size sweep, with peak GPU memory.

Usage: python benchmarks/gpu.py [--device cuda] [--runs 20] [--batch-sizes 1,2,4,8,16,32] [--quick]
Writes benchmarks/results/gpu.json. Every timing synchronises the device before the clock stops, and is the
median of ``--runs`` calls after warm-up calls. Batches are of 512x512 images (one tile grid each), so the
sweep shows how far batching helps once the per-call overhead is shared. ``--device cpu --quick`` checks
the script itself on a machine without a GPU; its numbers are not kept.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import torch
from common import repeat, summary, synthetic_image, write_results

SIZES = [(224, 224), (512, 512), (1920, 1080), (4000, 3000)]  # (W, H)
BATCH_SIDE = 512


def _synced(fn: Callable[[], object], device: torch.device) -> Callable[[], object]:
    """``fn`` followed by a device synchronisation, so that wall time covers the queued kernels."""
    def call() -> object:
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return out
    return call


def _peak_gb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--runs", type=int, default=20, help="timed calls per measurement (median reported)")
    ap.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    ap.add_argument("--metric", default="ipad_clip")
    ap.add_argument("--quick", action="store_true", help="smoke test: small sizes, 2 runs, results not kept")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device is available: run this on a machine with a GPU, "
                         "or check the script with --device cpu --quick")

    import pyiqa

    import ipad_iqa  # noqa: F401  (registers the metrics)

    metric = pyiqa.create_metric(args.metric, device=device)
    runs = 2 if args.quick else args.runs
    sizes = [(min(w, 480), min(h, 320)) for w, h in SIZES[:2]] if args.quick else SIZES
    batches = [int(b) for b in args.batch_sizes.split(",")][: 2 if args.quick else None]
    side = 96 if args.quick else BATCH_SIDE

    latency = []
    with torch.inference_mode():
        for w, h in sizes:
            x = synthetic_image(h, w).to(device)
            _reset_peak(device)
            score = summary(repeat(_synced(lambda x=x: metric(x), device), runs, warmup=2))
            maps = summary(repeat(_synced(lambda x=x: metric(x, return_maps=True), device), runs, warmup=1))
            latency.append({"width": w, "height": h, "mp": w * h / 1e6, "score_s": score, "maps_s": maps,
                            "peak_gpu_gb": _peak_gb(device)})
            print(f"{w}x{h}: score {score['median'] * 1000:.1f} ms, maps {maps['median'] * 1000:.1f} ms",
                  file=sys.stderr)
        sweep = []
        for b in batches:
            x = torch.cat([synthetic_image(side, side, seed=i) for i in range(b)]).to(device)
            _reset_peak(device)
            t = summary(repeat(_synced(lambda x=x: metric(x), device), runs, warmup=2))
            sweep.append({"batch_size": b, "side": side, "seconds": t, "images_per_s": b / t["median"],
                          "peak_gpu_gb": _peak_gb(device)})
            print(f"batch {b} x {side}px: {b / t['median']:.1f} img/s", file=sys.stderr)

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (script check)"
    results = {"metric": args.metric, "device": gpu, "runs": runs, "latency": latency, "batch_sweep": sweep}
    if args.quick:
        print("quick check done; results not kept", file=sys.stderr)
        return
    write_results("gpu", results)


if __name__ == "__main__":
    main()
