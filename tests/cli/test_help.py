"""The ``ipad-iqa`` command line as users read it: switches common to its subcommands."""

from __future__ import annotations

import argparse

import pytest

from ipad_iqa.cli.main import build_parser

#: Subcommands that draw a progress bar on stderr.
WITH_PROGRESS_BAR = ("score", "make-benchmark", "make-shards", "train", "evaluate")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", WITH_PROGRESS_BAR)
def test_progress_bars_have_quiet(name: str) -> None:
    quiet = [a for a in _subparsers()[name]._actions if "--quiet" in a.option_strings]
    assert len(quiet) == 1 and quiet[0].dest == "quiet" and quiet[0].default is False


def test_evaluate_no_progress_is_quiet() -> None:
    parser = _subparsers()["evaluate"]
    for switch in ("--quiet", "--no-progress"):
        assert parser.parse_args(["--benchmark", "b", "--out", "o", switch]).quiet is True
