"""Write a weighted average of checkpoints of one model (a "weight soup"): checkpoints continued from one start
usually lie in one basin of the loss, so their average is itself a working model. The result loads like any
trained file (``ipad-iqa evaluate --checkpoint``, ``ipad-iqa score --head-weights``, ``head_weights=``).

Exit codes: 0 written; 2 usage error (bad PATH:COEF, coefficients not summing to 1, checkpoints of different
models, OUT exists).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "write a weighted average of checkpoints of one model (a weight soup)"


def member(text: str) -> tuple[Path, float]:
    """PATH:COEF -> (path, coef); the path may itself hold colons."""
    path, sep, coef = text.rpartition(":")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"{text!r} is not PATH:COEF")
    try:
        return Path(path), float(coef)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: coefficient {coef!r} is not a number") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="where to write the average (must not exist)")
    parser.add_argument("members", type=member, nargs="+", metavar="PATH:COEF",
                        help="checkpoints written by ipad-iqa train, with coefficients summing to 1")


def run(args: argparse.Namespace) -> int:
    from ipad_iqa.train.average import average_weights
    from ipad_iqa.weights import WeightsError

    try:
        sha = average_weights(args.members, args.out)
    except (FileExistsError, ValueError, WeightsError) as err:
        print(f"ipad-iqa average-weights: error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: sha256 {sha}")
    return 0
