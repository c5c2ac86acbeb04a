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


@pytest.mark.parametrize("name", list(_subparsers()))
def test_every_option_has_help_and_one_meaningful_default(name: str) -> None:
    parser = _subparsers()[name]
    formatter = parser._get_formatter()
    for action in parser._actions:
        assert action.help, f"{name} {action.option_strings or action.dest} has no help"
        text = formatter._get_help_string(action)
        assert text.count("(default:") <= 1, f"{name} {action.option_strings}: {text}"
        assert not any(f"(default: {empty})" in text for empty in ("None", "False", "[]")), text
    assert "(default: None)" not in parser.format_help()
