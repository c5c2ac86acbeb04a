"""Evaluate methods on an IPAD-Synth benchmark split (pixel + image metrics) or on folders of real photos.

Without --methods, the standard comparison runs: ipad_clip against every method of `ipad-iqa list` that needs
nothing more, and the trained ones whose checkpoint is given; those left out are listed with what they need.

Writes to OUT: metrics.json (method -> class -> metric), severity.json and subtype.json (benchmark mode: the same
per severity bin, and per ghosting mode and day or night flare), bootstrap.json (real mode: each method's difference from the first, with its interval), run.json
(command, timing, counts, methods not run), results.md (the command, how to read the tables, the tables),
curves_<class>.png, grid.png, and cache/METHOD/ (per-method predictions under the method's full name, arch
options included, e.g. cache/ipad_clip[moire_cue=true]/; a rerun only predicts what is missing; printed at the end).

Exit codes: 0 done; 2 usage error (unknown method, missing data).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

HELP = "evaluate methods on a benchmark split or real photos (metrics.json, results.md, plots)"
EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--benchmark", type=Path, help="benchmark folder with manifest.csv")
    src.add_argument("--real", type=Path,
                     help="folder of real photos (image level only): REAL/<ghosting|flare|moire>/[DATASET/...]/IMAGE; "
                          "clean references are the images named *_GT or *_clean, or under a blurresize/, gt/, "
                          "clean/ or reference(s)/ folder, and they are the negatives of every class; a "
                          "reference is the twin of the artifact photo of the same DATASET folder and stem "
                          "(res_1_GT / res_1_Moire, blurresize/0001 / moireresize/0001)")
    parser.add_argument("--split", default="test", help="benchmark split")
    parser.add_argument("--methods",
                        help="comma-separated method names (ipad-iqa list methods), e.g. ipad_clip,spectral; "
                             "NAME[key=value,...] adds inference-time arch options, e.g. "
                             "'ipad_clip[cls_weight=1.0]' (default: the standard comparison)")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument("--device", default="cpu", help="where the methods run (cpu, cuda, cuda:N)")
    parser.add_argument("--limit", type=int, default=None, help="first N images (labels interleaved)")
    parser.add_argument("--batch-size", type=int, default=4, help="images per forward pass")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="METHOD=PATH",
                        help="checkpoint of a trained method (repeatable)")
    parser.add_argument("--bootstrap", type=int, default=2000, metavar="DRAWS",
                        help="real mode: paired-bootstrap draws for the interval of each method's difference "
                             "from the first (0: none)")
    parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                        help="no progress bars (--no-progress, its former name, still works)")


def command_line(args: argparse.Namespace, methods: tuple[str, ...]) -> str:
    """The command that reproduces this run, for the report (the methods named, also when chosen by default)."""
    parts = ["ipad-iqa", "evaluate"]
    parts += ["--benchmark", str(args.benchmark), "--split", args.split] if args.benchmark else ["--real", str(args.real)]
    parts += ["--methods", ",".join(methods), "--out", str(args.out), "--device", args.device,
              "--batch-size", str(args.batch_size)]
    parts += ["--limit", str(args.limit)] if args.limit else []
    for c in args.checkpoint:
        parts += ["--checkpoint", c]
    parts += ["--bootstrap", str(args.bootstrap)] if args.real else []
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    from ipad_iqa.baselines import standard_comparison
    from ipad_iqa.eval import bootstrap, harness, report
    from ipad_iqa.eval.cache import PredictionCache
    from ipad_iqa.methods import parse_methods
    from ipad_iqa.output import LABELS
    from ipad_iqa.weights import WeightsError

    try:
        checkpoints = dict(c.split("=", 1) for c in args.checkpoint)
    except ValueError:
        print("--checkpoint expects METHOD=PATH", file=sys.stderr)
        return EXIT_USAGE
    skipped: dict[str, str] = {}
    try:
        if args.methods is None:
            methods, skipped = standard_comparison(checkpoints)
        else:
            methods = parse_methods(args.methods)
    except ValueError as err:
        print(f"--methods: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.bootstrap < 0:
        print("--bootstrap: draws must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    for method, reason in skipped.items():
        print(f"not run: {method}: {reason}", file=sys.stderr)
    config = harness.EvalConfig(methods=methods, out=args.out, device=args.device, batch_size=args.batch_size,
                                limit=args.limit, checkpoints=checkpoints, progress=not args.quiet)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if args.benchmark:
            samples = harness.benchmark_items(args.benchmark, args.split)[: args.limit]
            runs = harness.evaluate_benchmark(args.benchmark, args.split, config)
            title = f"IPAD-Synth {args.split} split ({len(samples)} images)"
        else:
            samples = harness.real_items(args.real)[: args.limit]
            runs = harness.evaluate_real(args.real, config)
            title = f"Real photos ({len(samples)} images, image level)"
    except (KeyError, FileNotFoundError, ValueError, WeightsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    command = command_line(args, methods)
    # what was read, for pages written from this report (ipad_iqa.eval.results_page)
    source = ({"benchmark": str(args.benchmark), "split": args.split} if args.benchmark
              else {"real": str(args.real)})
    n_per_label = {name: sum(s.label == i for s in samples) for i, name in enumerate(LABELS)}
    report.write_json(runs, args.out, {"command": command, "title": title, "n_samples": len(samples),
                                       "n_per_label": n_per_label, "limit": args.limit, "not_run": skipped,
                                       **source})
    markdown = report.report_markdown(runs, command, title, real=args.real is not None)
    if args.real and args.bootstrap and len(methods) > 1:
        differences = bootstrap.compare_cached(samples, args.out / "cache", methods, args.bootstrap)
        (args.out / "bootstrap.json").write_text(json.dumps(differences, indent=2))
        markdown += "\n" + report.bootstrap_table(differences, methods[0], args.bootstrap)
    (args.out / "results.md").write_text(markdown + report.skipped_section(skipped))
    if args.benchmark:
        report.plot_curves(runs, args.out)
    rows = report.grid_rows(samples, runs, config)
    if rows:
        report.plot_grid(rows, args.out / "grid.png")
    print(f"wrote {args.out / 'results.md'}")
    for method in methods:  # scripts that read the predictions need the folder, arch options and all
        print(f"predictions of {method}: {PredictionCache.folder(args.out / 'cache', method)}")
    return EXIT_OK
