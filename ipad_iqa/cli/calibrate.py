"""Calibrate the operating thresholds of trained weights and write them into a copy of the weights file.

Each class gets the threshold at which at most --fpr of the clean images of the calibration split would be
flagged (a class is flagged when its probability is above it). Recall, precision and the false-positive rate
reached there are measured on the same images and, with --check-benchmark, on held-out images too; all of it
is stored in the new file's metadata, where ``ipad-iqa score`` (the ``flagged`` column) and
``metric.net.thresholds`` read it.

Exit codes: 0 written; 2 usage error (missing benchmark or weights, OUT exists, a split without clean images).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HELP = "choose per-class operating thresholds on a validation split and store them with the weights"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, required=True, help="trained weights (.safetensors)")
    parser.add_argument("--benchmark", type=Path, required=True,
                        help="IPAD-Synth benchmark folder holding the calibration split")
    parser.add_argument("--split", default="val", help="calibration split")
    parser.add_argument("--fpr", type=float, default=0.05,
                        help="share of clean images each class may flag on the calibration split")
    parser.add_argument("--check-benchmark", type=Path,
                        help="benchmark whose test split measures the chosen thresholds on held-out images")
    parser.add_argument("--metric", default="ipad_clip", help="the variant the weights belong to")
    parser.add_argument("--out", type=Path, required=True, help="calibrated weights file to write (must not exist)")
    parser.add_argument("--table", type=Path, help="also write the thresholds and their figures as a markdown table")
    parser.add_argument("--batch-size", type=int, default=4, help="images scored together")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _probs(root: Path, split: str, args: argparse.Namespace, cache: Path):
    """Labels and class probabilities of every image of ``split``, scored as ``ipad-iqa evaluate`` does."""
    import numpy as np

    from ipad_iqa.eval.harness import EvalConfig, LazyDetector, MethodRun, benchmark_items, predictions

    config = EvalConfig(methods=(args.metric,), out=cache, batch_size=args.batch_size,
                        checkpoints={args.metric: str(args.weights)}, progress=not args.quiet)
    samples = benchmark_items(root, split)
    pairs = list(predictions(LazyDetector(args.metric, config), samples, MethodRun(metrics={})))
    labels = np.array([s.label for s, _ in pairs])
    return labels, np.stack([p.class_probs for _, p in pairs]) if pairs else np.zeros((0, 3))


def markdown(thresholds) -> str:
    """The thresholds with recall / precision / clean false-positive rate, calibration and held-out."""
    def cell(figures: dict, cls: str) -> str:
        f = figures.get(cls)
        return "n/a" if not f else f"{f['recall']:.2f} / {f['precision']:.2f} / {f['fpr']:.3f}"

    lines = [f"| class | threshold | {thresholds.calibrated_on}: recall / precision / clean FPR |"
             + (f" {thresholds.checked_on}: recall / precision / clean FPR |" if thresholds.checked_on else ""),
             "|---|---:|---:|" + ("---:|" if thresholds.checked_on else "")]
    for cls, value in thresholds.values.items():
        lines.append(f"| {cls} | {value:.3f} | {cell(thresholds.measured, cls)} |"
                     + (f" {cell(thresholds.checked, cls)} |" if thresholds.checked_on else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from ipad_iqa.eval.calibrate import calibrate, measure
    from ipad_iqa.thresholds import METADATA_KEY
    from ipad_iqa.weights import WeightsError, read_checkpoint, save_weights

    try:
        if args.out.exists():
            raise ValueError(f"{args.out} exists; choose another --out (nothing is overwritten)")
        state, meta = read_checkpoint(args.weights)
        with tempfile.TemporaryDirectory() as cache:
            labels, probs = _probs(args.benchmark, args.split, args, Path(cache) / "calibration")
            what = f"{args.benchmark.name} {args.split}, {len(labels)} images"
            thresholds = calibrate(labels, probs, args.fpr, what)
            if args.check_benchmark is not None:
                labels, probs = _probs(args.check_benchmark, "test", args, Path(cache) / "check")
                thresholds = dataclasses.replace(
                    thresholds, checked_on=f"{args.check_benchmark.name} test, {len(labels)} images",
                    checked=measure(labels, probs, thresholds.values))
    except (FileNotFoundError, ValueError, WeightsError) as err:
        print(f"ipad-iqa calibrate: error: {err}", file=sys.stderr)
        return 2
    meta = {k: v for k, v in meta.items() if k != "format"} | {METADATA_KEY: thresholds.to_json()}
    sha = save_weights(state, args.out, meta)
    table = markdown(thresholds)
    if args.table is not None:
        args.table.write_text(table + "\n")
    print(f"{table}\n\nwrote {args.out} (sha256 {sha})")
    return 0
