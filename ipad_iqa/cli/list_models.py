"""List what this package provides, as ``pyiqa.list_models()`` does for pyiqa: the IPAD metrics (for
``pyiqa.create_metric`` and ``ipad-iqa score --metric``) and the evaluation methods (for
``ipad-iqa evaluate --methods``), each with one line on what it is and what it needs besides the package."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

HELP = "list the IPAD metrics and the evaluation methods, with what each needs"
SECTIONS: tuple[str, ...] = ("metrics", "methods")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=SECTIONS, help="one section only (default: both)")
    parser.add_argument("--names", action="store_true", help="names only, one per line (for scripts)")


def _lines(rows: list[tuple[str, str, str | None]]) -> list[str]:
    """``name  summary`` aligned, and under it ``needs: ...`` where something must be provided."""
    width = max(len(name) for name, _, _ in rows)
    out = []
    for name, summary, needs in rows:
        out.append(f"  {name.ljust(width)}  {summary}")
        if needs:
            out.append(f"  {' ' * width}  needs {needs}")
    return out


def run(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    from ipad_iqa.baselines import DEFAULT_METHOD, method_catalogue, usable_variants
    from ipad_iqa.registry import get_variant

    out = stdout or sys.stdout
    sections = [args.what] if args.what else list(SECTIONS)
    variants = [get_variant(name) for name in usable_variants()]
    metrics = [(v.name, v.summary, None if v.weights else "trained head weights (head_weights=FILE), or zero_shot=True")
               for v in variants]
    methods = [(name, m.summary, m.needs) for name, m in method_catalogue().items()]
    rows = {"metrics": metrics, "methods": methods}
    if args.names:
        print("\n".join(name for section in sections for name, _, _ in rows[section]), file=out)
        return 0
    titles = {"metrics": "Metrics (pyiqa.create_metric(NAME), ipad-iqa score --metric NAME):",
              "methods": f"Methods (ipad-iqa evaluate --methods NAME,...; without --methods, {DEFAULT_METHOD} and "
                         "every other method that needs nothing more):"}
    blocks = ["\n".join([titles[section], *_lines(rows[section])]) for section in sections]
    print("\n\n".join(blocks), file=out)
    return 0
