"""Write IPAD-Synth v2 training shards: canvases with perceptual three-level masks, synthesized once.

Sample i is a pure function of (seed, i) and the photo pool, so --shard-index/--num-shards split the work
across processes or machines (a Slurm array, Ray tasks, torchrun ranks) into disjoint shards whose union is
byte-identical to a serial run; --engine ray does that fan-out as Ray tasks. Shards already in OUT are kept,
so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import sys

HELP = "write IPAD-Synth v2 training shards (WebDataset tar: image, 3-level mask, label, severity, JOD)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ipad_iqa.cli.make_benchmark import comma_floats
    from ipad_iqa.data.shards import CANVAS_SIZE

    parser.add_argument("--clean-dir", required=True, help="folder of clean photos")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--n", type=int, required=True, help="number of canvases in the whole shard set")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole shard set")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"),
                        help="scene split whose photos are used")
    parser.add_argument("--size", type=int, default=CANVAS_SIZE, help="square canvas side in px")
    parser.add_argument("--shard-size", type=int, default=128, help="canvases per shard")
    parser.add_argument("--shard-index", type=int, default=0, help="this process's index among --num-shards")
    parser.add_argument("--num-shards", type=int, default=1,
                        help="number of processes sharing the work; process i writes shards i, i+n, ...")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (output does not depend on it)")
    parser.add_argument("--ghosting-modes", type=comma_floats, default=None, metavar="M,F,O,R",
                        help="probabilities of the ghosting modes motion, fusion, optical, reflection "
                             "(default: v2's 0.35,0.15,0.15,0.35; recorded in spec.json only when changed)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from ipad_iqa.cli.ray_engine import add_engine_arguments

    add_engine_arguments(parser, "synthesis")  # ray: this process's shards as Ray tasks, one per CPU


def run(args: argparse.Namespace) -> int:
    from ipad_iqa.cli.ray_engine import RayEngineError, write_shards_on_ray
    from ipad_iqa.data.perceptual import MissingPredictorError, synthesis_threads
    from ipad_iqa.data.shards import write_shards

    try:
        if args.engine == "ray":
            if args.workers != 1:
                raise ValueError("--workers is for --engine local; with --engine ray each CPU of the cluster "
                                 "runs one task")
            summary = "\n".join(write_shards_on_ray(
                args.out, args.clean_dir, args.n, args.seed, args.size, args.split, args.shard_index,
                args.num_shards, args.shard_size, address=args.address, ghosting_modes=args.ghosting_modes))
        else:
            with synthesis_threads():
                summary = write_shards(args.out, args.clean_dir, args.n, args.seed, args.size, args.split,
                                       args.shard_index, args.num_shards, args.workers, args.shard_size,
                                       progress=not args.quiet, ghosting_modes=args.ghosting_modes)
    except (FileExistsError, FileNotFoundError, ValueError, MissingPredictorError, RayEngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0
