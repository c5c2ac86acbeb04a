"""The training logs' CSV files: a resumed run appends, and new columns widen the header."""

from __future__ import annotations

import csv
from pathlib import Path

from ipad_iqa.train.loop import _CsvLog


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_fresh_log_overwrites_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text("stale\n1\n")
    log = _CsvLog(path, append=False)
    log.write({"step": 1, "loss": 0.5})
    log.write({"step": 2, "loss": 0.4})
    assert _read(path) == (["step", "loss"], [{"step": "1", "loss": "0.5"}, {"step": "2", "loss": "0.4"}])


def test_resumed_log_widens_its_header(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    _CsvLog(path, append=False).write({"step": 1, "loss": 0.5})
    resumed = _CsvLog(path, append=True)
    resumed.write({"step": 2, "loss": 0.4, "val_auroc": 0.8})
    resumed.write({"step": 3, "loss": 0.3, "val_auroc": 0.9})
    fields, rows = _read(path)
    assert fields == ["step", "loss", "val_auroc"]
    assert rows == [{"step": "1", "loss": "0.5", "val_auroc": ""}, {"step": "2", "loss": "0.4", "val_auroc": "0.8"},
                    {"step": "3", "loss": "0.3", "val_auroc": "0.9"}]


def test_resumed_log_keeps_a_column_it_no_longer_writes(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    _CsvLog(path, append=False).write({"step": 1, "loss": 0.5, "old": 7})
    _CsvLog(path, append=True).write({"step": 2, "loss": 0.4})
    assert _read(path) == (["step", "loss", "old"], [{"step": "1", "loss": "0.5", "old": "7"},
                                                     {"step": "2", "loss": "0.4", "old": ""}])
