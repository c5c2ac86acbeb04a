"""Write docs/results.md and its figures from two finished evaluation reports (``make results`` runs it).

    python docs/scripts/make_results.py --test runs/results/ipad_synth_v1_test --real runs/results/real_val_real

``--test`` is the report of ``ipad-iqa evaluate --benchmark DIR --split test``, ``--real`` the report of
``ipad-iqa evaluate --real DIR``, both with the default method among their ``--methods``. The page is written
by ``ipad_iqa.eval.results_page``: every number is read from the reports, and the figures are copied from the
test report into ``docs/assets/results/``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test", type=Path, required=True, help="report of `ipad-iqa evaluate --benchmark`")
    parser.add_argument("--real", type=Path, required=True, help="report of `ipad-iqa evaluate --real`")
    parser.add_argument("--default", default="ipad_clip", help="the method the page is about")
    parser.add_argument("--page", type=Path, default=DOCS / "results.md")
    parser.add_argument("--assets", type=Path, default=DOCS / "assets" / "results",
                        help="folder of the page's figures (owned by this script: its PNGs are replaced)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    from ipad_iqa.eval.results_page import ReportMismatch, results_page

    args = parse_args(argv)
    command = shlex.join(["python", "docs/scripts/make_results.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        text = results_page(args.test, args.real, args.page, args.assets, args.default, command)
    except (ReportMismatch, FileNotFoundError) as err:
        sys.exit(f"error: {err}")
    args.page.write_text(text)
    print(f"wrote {args.page} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
