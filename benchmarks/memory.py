"""Peak resident memory (RSS) of the default metric on one very large image, each case in a fresh process.

Usage: python benchmarks/memory.py [--size 10000x8000] [--metric ipad_clip] [--cases all]
Writes benchmarks/results/memory.json (peak RSS per case, RSS over time for the plot).

Cases (WxH image, CPU):
  runtime       import ipad_iqa + pyiqa.create_metric only: the floor every other case stands on
  tensor_score  metric(x) on a float32 tensor built in the process (the tensor alone is 12 bytes/pixel)
  tensor_maps   metric(x, return_maps=True): also the (1,3,H,W) float32 maps at input resolution
  file_maps     metric(ipad_iqa.io.load_image(jpeg), return_maps=True): decoding included
  cli           ipad-iqa score big.jpg --out results.csv (in process, as the console script runs it)
  cli_maps      the same with --maps-dir (overlay PNG rendered at most 1600 px wide)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import (
    RssSampler,
    parse_size,
    peak_rss_bytes,
    rss_bytes,
    run_child,
    synthetic_image,
    write_results,
)

CASES = ("runtime", "tensor_score", "tensor_maps", "file_maps", "cli", "cli_maps")
GB = 1e9


def _make_jpeg(width: int, height: int, folder: Path) -> Path:
    import numpy as np
    from PIL import Image

    path = folder / f"big_{width}x{height}.jpg"
    if not path.exists():
        x = synthetic_image(height, width)
        array = (x[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        del x
        Image.fromarray(array).save(path, quality=90)
    return path


def child(case: str, metric_name: str, width: int, height: int, image: Path, workdir: Path) -> dict:
    """Run one case in this (fresh) process and return its measurements."""
    import torch

    t_start = time.perf_counter()
    with RssSampler(0.05) as sampler:
        import pyiqa

        import ipad_iqa  # noqa: F401  (registers the metrics)
        from ipad_iqa.cli.main import main as cli_main
        from ipad_iqa.io import load_image

        metric = pyiqa.create_metric(metric_name, device="cpu")
        rss_ready = rss_bytes()
        t0 = time.perf_counter()
        if case == "tensor_score":
            x = synthetic_image(height, width)
            with torch.inference_mode():
                _ = metric(x)
        elif case == "tensor_maps":
            x = synthetic_image(height, width)
            with torch.inference_mode():
                _ = metric(x, return_maps=True)
        elif case == "file_maps":
            with torch.inference_mode():
                _ = metric(load_image(image)[None], return_maps=True)
        elif case in ("cli", "cli_maps"):
            del metric  # the CLI builds its own
            argv = ["score", str(image), "--metric", metric_name, "--out", str(workdir / f"{case}.csv")]
            if case == "cli_maps":
                argv += ["--maps-dir", str(workdir / "maps")]
            code = cli_main(argv)
            if code != 0:
                raise SystemExit(f"cli exited with {code}")
        seconds = time.perf_counter() - t0
    samples = sampler.samples[:: max(1, len(sampler.samples) // 400)]
    return {
        "case": case,
        "peak_rss_gb": peak_rss_bytes() / GB,
        "rss_after_create_metric_gb": rss_ready / GB,
        "seconds": seconds,
        "total_seconds": time.perf_counter() - t_start,
        "rss_series": [(round(t, 3), round(b / GB, 4)) for t, b in samples],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=parse_size, default=(10000, 8000), help="WxH (default 10000x8000)")
    ap.add_argument("--metric", default="ipad_clip")
    ap.add_argument("--cases", default="all", help=f"comma-separated subset of {','.join(CASES)}")
    ap.add_argument("--limit-gb", type=float, default=2.5, help="the target the results are checked against")
    ap.add_argument("--out", default="memory", help="results file name under benchmarks/results/")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--image", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--child-make-image", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    width, height = args.size
    if args.child:
        result = child(args.child, args.metric, width, height, Path(args.image), Path(args.workdir))
        print(json.dumps(result))
        return

    if args.child_make_image:
        _make_jpeg(width, height, Path(args.workdir))
        print("{}")
        return
    cases = CASES if args.cases == "all" else tuple(args.cases.split(","))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        # The test image is made in a child of its own, so that this process stays small.
        run_child([__file__, "--child-make-image", "--size", f"{width}x{height}", "--workdir", tmp])
        image = Path(tmp) / f"big_{width}x{height}.jpg"
        for case in cases:
            res = run_child([__file__, "--child", case, "--metric", args.metric, "--size", f"{width}x{height}",
                             "--image", str(image), "--workdir", tmp])
            ok = res["peak_rss_gb"] <= args.limit_gb
            print(f"{case:13s} peak RSS {res['peak_rss_gb']:.2f} GB  ({res['seconds']:.1f} s)"
                  f"{'' if ok else '  OVER ' + str(args.limit_gb) + ' GB'}", file=sys.stderr)
            results.append(res)
    write_results(args.out, {"metric": args.metric, "width": width, "height": height,
                             "limit_gb": args.limit_gb, "cases": results})


if __name__ == "__main__":
    main()
