"""Entry point of the ``ipad-iqa`` command.

Each subcommand lives in its own module ``ipad_iqa.cli.<name>`` exposing ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Subcommand modules import heavy dependencies inside
``run`` so that ``ipad-iqa --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Public subcommand name -> module name. Order is the order shown in --help.
SUBCOMMANDS: dict[str, str] = {
    "score": "score",
    "list": "list_models",
    "fetch-photos": "fetch_photos",
    "make-benchmark": "make_benchmark",
    "show-benchmark": "show_benchmark",
    "make-shards": "make_shards",
    "train": "train",
    "average-weights": "average_weights",
    "calibrate": "calibrate",
    "evaluate": "evaluate",
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: ...)" only where it tells something: not for None, a switch's False or an empty
    list, and not where the help already states its default in words."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "(default" in text or default is None or default is False or default == [] \
                or default is argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipad-iqa",
        description="Local perceptual artifact (ghosting, lens flare, moire) assessment with IPAD-CLIP.",
    )
    from ipad_iqa import __version__

    parser.add_argument("--version", action="version", version=f"ipad-iqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(f"ipad_iqa.cli.{module_name}")
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=HelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
