"""Write the IPAD-Synth benchmark: clean photos plus synthesized ghosting, flare and moire with their masks
(v2, the default: 255 where the artifact is visible, 128 where that is uncertain, 0 elsewhere; v1: binary),
and the exact clean twin of every artifact image (the reference of full-reference baselines).

Without --clean-dir the bundled scikit-image samples are used (read from the installed package). Rerunning with
the same arguments verifies a complete benchmark (or finishes an interrupted one); a different benchmark already
in OUT is refused, never overwritten.
"""

from __future__ import annotations

import argparse
import sys

HELP = "write the IPAD-Synth benchmark (images, masks, clean references, manifest.csv)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clean-dir", default=None, help="folder of clean photos (default: scikit-image samples)")
    parser.add_argument("--out", required=True, help="output folder (empty, or a previous run of the same spec)")
    parser.add_argument("--n-per-class", type=int, default=1000, help="samples per artifact class")
    parser.add_argument("--n-clean", type=int, default=1000, help="clean samples")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the synthesis: the same seed and options write the same files")
    parser.add_argument("--size", type=int, default=512, help="square canvas side in px (>= 64)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (output does not depend on it)")
    parser.add_argument("--version", default="v2", choices=("v1", "v2"),
                        help="v2: perceptual three-level masks (visible / uncertain / none) and severity as "
                             "visibility, needs cvvdp; v1: binary masks of what changed, as first published")
    parser.add_argument("--ghosting-modes", type=comma_floats, default=None, metavar="M,F,O,R",
                        help="probabilities of the ghosting modes motion, fusion, optical, reflection "
                             "(default: v2 0.35,0.15,0.15,0.35; v1 the synthesizer's mix, which never reflects)")
    parser.add_argument("--splits", type=_names, default=None, metavar="SPLIT[,SPLIT]",
                        help="write only these scene splits (train, val, test), with the indices and bytes "
                             "they have in the full benchmark (default: all)")
    parser.add_argument("--reflection-scene", default=None, metavar="{self,other}",
                        help="what a reflection (the R of --ghosting-modes) shows: the source photo turned and "
                             "rolled (self; v1's default), or another photo of the same scene split (other; "
                             "v2's default)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def comma_floats(text: str) -> tuple[float, ...]:
    """argparse type of a comma-separated list of numbers (``--ghosting-modes``, here and in make-shards)."""
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def run(args: argparse.Namespace) -> int:
    from ipad_iqa.data.benchmark import BenchmarkExistsError, write_benchmark
    from ipad_iqa.data.perceptual import MissingPredictorError, synthesis_threads

    if args.size < 64 or args.n_per_class < 0 or args.n_clean < 0:
        print("error: --size must be >= 64 and counts non-negative", file=sys.stderr)
        return 2
    try:
        with synthesis_threads():
            summary = write_benchmark(args.out, args.clean_dir, args.n_per_class, args.n_clean, args.seed,
                                      args.size, workers=args.workers, progress=not args.quiet,
                                      ghosting_modes=args.ghosting_modes, splits=args.splits,
                                      reflection_scene=args.reflection_scene, version=args.version)
    except (BenchmarkExistsError, FileNotFoundError, ValueError, MissingPredictorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0
