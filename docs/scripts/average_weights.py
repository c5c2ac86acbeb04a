"""Write a weighted average of checkpoints of one model (a "weight soup") that ``--checkpoint`` and
``head_weights=`` load like any trained file.

    python docs/scripts/average_weights.py runs/soup.safetensors A.safetensors:0.5 B.safetensors:0.5
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ipad_iqa.train.average import average_weights
from ipad_iqa.weights import WeightsError


def member(text: str) -> tuple[Path, float]:
    """PATH:COEF -> (path, coef)."""
    path, sep, coef = text.rpartition(":")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"{text!r} is not PATH:COEF")
    try:
        return Path(path), float(coef)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: coefficient {coef!r} is not a number") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="where to write the average (must not exist)")
    parser.add_argument("members", type=member, nargs="+", help="PATH:COEF, coefficients summing to 1")
    args = parser.parse_args()
    try:
        sha = average_weights(args.members, args.out)
    except (FileExistsError, ValueError, WeightsError) as err:
        raise SystemExit(f"error: {err}") from None
    print(f"{args.out}: sha256 {sha}")


if __name__ == "__main__":
    main()
