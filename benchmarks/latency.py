"""CPU latency of IPAD-CLIP: default metric by size, seconds per megapixel, head overhead, model sizes.

Usage: python benchmarks/latency.py [--runs 7] [--quick] [--sections latency,per_mp,overhead,models]
Writes benchmarks/results/latency.json. Every number is the median of ``--runs`` timed calls after one
untimed warm-up call, in one process, with torch's default thread count (one per core).

Sections:
  latency   pyiqa.create_metric("ipad_clip") on 224x224, 512x512, 1920x1080 and 4000x3000: metric(x) (score,
            the pyiqa default) and metric(x, return_maps=True) (maps at input resolution)
  per_mp    seconds per megapixel of metric(x) over a range of sizes (should be flat once images are tiled)
  overhead  full IPAD-CLIP forward / bare backbone forward over exactly the same views (global view + tiles)
  models    parameters, trainable parameters, latency at 224 and 1920x1080: ipad_clip and ViT-B-16
            (create_model("ipad_clip_vitb16", random_init=True): same architecture, no download)
"""

from __future__ import annotations

import argparse
import math
import sys

import torch
from common import busy_training_run, repeat, summary, synthetic_image, write_results

LATENCY_SIZES = [(224, 224), (512, 512), (1920, 1080), (4000, 3000)]  # (W, H)
PER_MP_SIZES = [(224, 224), (320, 320), (512, 512), (768, 768), (1024, 1024), (1280, 720), (1920, 1080),
                (2048, 2048), (3000, 2000), (4000, 3000)]
OVERHEAD_SIZES = [(224, 224), (512, 512), (1920, 1080)]
MODEL_SIZES = [(224, 224), (1920, 1080)]


def _runs_for(width: int, height: int, runs: int) -> int:
    """More repetitions for small sizes (milliseconds are noisy), fewer for the big ones (seconds each)."""
    if width * height <= 0.3e6:
        return 4 * runs
    return max(3, runs if width * height <= 2.5e6 else math.ceil(runs / 2))


def _metric(name: str = "ipad_clip"):
    import pyiqa

    import ipad_iqa  # noqa: F401

    return pyiqa.create_metric(name, device="cpu")


def section_latency(runs: int, sizes: list[tuple[int, int]]) -> list[dict]:
    metric = _metric()
    rows = []
    for w, h in sizes:
        x = synthetic_image(h, w)
        n = _runs_for(w, h, runs)
        score = summary(repeat(lambda x=x: metric(x), n))
        maps = summary(repeat(lambda x=x: metric(x, return_maps=True), n))
        rows.append({"width": w, "height": h, "mp": w * h / 1e6, "score_s": score, "maps_s": maps})
        print(f"latency {w}x{h}: score {score['median']:.3f} s, with maps {maps['median']:.3f} s", file=sys.stderr)
    return rows


def section_per_mp(runs: int, sizes: list[tuple[int, int]]) -> list[dict]:
    metric = _metric()
    rows = []
    for w, h in sizes:
        x = synthetic_image(h, w)
        t = summary(repeat(lambda x=x: metric(x), _runs_for(w, h, runs)))
        mp = w * h / 1e6
        views = sum(v.shape[0] for v in metric.net.model.views(x))
        rows.append({"width": w, "height": h, "mp": mp, "seconds": t, "s_per_mp": t["median"] / mp,
                     "views": views, "s_per_view": t["median"] / views})
        print(f"per_mp {w}x{h}: {t['median'] / mp:.3f} s/MP, {t['median'] / views * 1000:.1f} ms/view",
              file=sys.stderr)
    return rows


def section_overhead(runs: int, sizes: list[tuple[int, int]]) -> list[dict]:
    model = _metric().net.model
    rows = []
    with torch.inference_mode():
        for w, h in sizes:
            x = synthetic_image(h, w)
            views = model.views(x)
            calls = {"full": lambda x=x: model(x), "score_only": lambda x=x: model(x, full_maps=False),
                     "backbone": lambda views=views: [model.backbone(v) for v in views]}
            times: dict[str, list[float]] = {k: [] for k in calls}
            for k in calls:  # warm-up
                repeat(calls[k], 0, warmup=2)
            for _ in range(_runs_for(w, h, runs)):  # interleaved, so that drift hits all three alike
                for k, fn in calls.items():
                    times[k] += repeat(fn, 1, warmup=0)
            full, scores_only, bare = (summary(times[k]) for k in calls)
            rows.append({"width": w, "height": h, "views": sum(v.shape[0] for v in views), "full_s": full,
                         "score_only_s": scores_only, "backbone_s": bare,
                         "ratio": full["median"] / bare["median"],
                         "ratio_score_only": scores_only["median"] / bare["median"]})
            print(f"overhead {w}x{h}: full/backbone {rows[-1]['ratio']:.3f} "
                  f"(score only {rows[-1]['ratio_score_only']:.3f})", file=sys.stderr)
    return rows


def section_models(runs: int, sizes: list[tuple[int, int]]) -> list[dict]:
    from ipad_iqa import create_model

    rows = []
    for variant, kwargs in (("ipad_clip", {}), ("ipad_clip_vitb16", {"random_init": True})):
        model = create_model(variant, **kwargs)
        params = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        visual = sum(p.numel() for p in model.backbone.parameters())
        row = {"variant": variant, "backbone": model.backbone.visual.__class__.__name__, "params": params,
               "trainable_params": trainable, "image_tower_params": visual, "latency": []}
        with torch.inference_mode():
            for w, h in sizes:
                x = synthetic_image(h, w)
                t = summary(repeat(lambda x=x, m=model: m(x), _runs_for(w, h, runs) if w * h < 1e6 else 3))
                row["latency"].append({"width": w, "height": h, "seconds": t})
                print(f"models {variant} {w}x{h}: {t['median']:.3f} s", file=sys.stderr)
        rows.append(row)
        del model
    return rows


SECTIONS = {"latency": (section_latency, LATENCY_SIZES), "per_mp": (section_per_mp, PER_MP_SIZES),
            "overhead": (section_overhead, OVERHEAD_SIZES), "models": (section_models, MODEL_SIZES)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="timed calls per measurement (median reported)")
    ap.add_argument("--sections", default=",".join(SECTIONS))
    ap.add_argument("--quick", action="store_true", help="smoke test: small sizes, 1 run, results not kept")
    ap.add_argument("--out", default="latency", help="results file name under benchmarks/results/")
    args = ap.parse_args()
    contaminated = busy_training_run()
    if contaminated:
        print("warning: an `ipad-iqa train` run shares the CPU; timings will be too slow", file=sys.stderr)
    results: dict[str, object] = {"runs": args.runs, "training_run_sharing_cpu": contaminated}
    for name in args.sections.split(","):
        fn, sizes = SECTIONS[name]
        if args.quick:
            sizes = [(min(w, 480), min(h, 320)) for w, h in sizes[:2]]
        results[name] = fn(1 if args.quick else args.runs, sizes)
    write_results(args.out + ("_quick" if args.quick else ""), results)


if __name__ == "__main__":
    main()
