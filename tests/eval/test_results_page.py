"""The Results page written from two evaluation reports of the fixture data: its numbers are the reports'."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from PIL import Image

from ipad_iqa.cli.main import main
from ipad_iqa.eval.report import format_value
from ipad_iqa.eval.results_page import ReportMismatch, results_page

METHODS = "ipad_clip_test,spectral,psnr"
DEFAULT = "ipad_clip_test"


def _reports(benchmark: Path, real_dir: Path, tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    """A benchmark report and a real-photo report of METHODS; ``extra`` goes to the benchmark evaluation."""
    spec = {"n_per_class": 1, "seed": 7, "size": 64, "sources": ["a", "b", "c"], "source_root": "x", "splits": ["test"]}
    (benchmark / "benchmark.json").write_text(json.dumps(spec))  # what make-benchmark writes beside the manifest
    test, real = tmp_path / "test_report", tmp_path / "real_report"
    assert main(["evaluate", "--benchmark", str(benchmark), "--split", "test", "--methods", METHODS,
                 "--out", str(test), "--no-progress", *extra]) == 0
    assert main(["evaluate", "--real", str(real_dir), "--methods", METHODS, "--out", str(real),
                 "--no-progress"]) == 0
    return test, real


def _json(report: Path, name: str) -> dict:
    return json.loads((report / name).read_text())


def _cells(values: dict, keys: tuple[str, ...], sep: str = " / ") -> str:
    return sep.join(format_value(values[k]) for k in keys)


def test_page_holds_the_numbers_of_the_reports(benchmark: Path, real_dir: Path, tmp_path: Path) -> None:
    test, real = _reports(benchmark, real_dir, tmp_path)
    page, assets = tmp_path / "docs" / "results.md", tmp_path / "docs" / "assets" / "results"
    assets.mkdir(parents=True)
    (assets / "curves_old.png").write_bytes(b"stale")
    text = results_page(test, real, page, assets, DEFAULT, "python make_results.py")

    metrics, real_metrics, severity = _json(test, "metrics.json"), _json(real, "metrics.json"), _json(
        test, "severity.json")
    run = _json(test, "run.json")
    mean = metrics[DEFAULT]["mean"]
    assert f"| {DEFAULT} | {_cells(mean, ('pixel_auroc', 'aupro', 'image_auroc'))} |" in text  # summary row
    spectral_moire = metrics["spectral"]["moire"]
    assert f"| spectral | {_cells(spectral_moire, tuple(spectral_moire), ' | ')} |" in text  # the moire table's row
    real_moire = real_metrics[DEFAULT]["moire"]
    assert f"| {DEFAULT} | {_cells(real_moire, tuple(real_moire), ' | ')} |" in text
    cost = run["methods"][DEFAULT]
    assert f"| {DEFAULT} | {format_value(cost['cpu_s_per_image'])} | {format_value(cost['wall_s_per_image'])} |" in text
    by_severity = severity[DEFAULT]["moire"]
    row = " | ".join(_cells(v, ("pixel_auroc", "aupro", "image_auroc")) for v in by_severity.values())
    assert f"| {DEFAULT} | {row} |" in text
    by_severity_section = text.split("### by severity")[1].split("### by subtype")[0]
    assert f"| {DEFAULT} |" in by_severity_section and "| spectral |" not in by_severity_section  # the default's
    by_kind = _json(test, "subtype.json")[DEFAULT]
    assert by_kind, "the fixture benchmark's ghosting and flare samples record their subtype"
    by_kind_section = text.split("### by subtype")[1].split("## Real photos")[0]
    for cls, kinds in by_kind.items():
        row = " | ".join(_cells(v, ("pixel_auroc", "aupro", "image_auroc")) for v in kinds.values())
        assert f"| {DEFAULT} | {row} |" in by_kind_section.split(f"#### {cls}")[1]

    real_folder = _json(real, "run.json")["real"]
    folders = {str(benchmark): "BENCH", real_folder: "REAL"}
    for command in (run["command"], _json(real, "run.json")["command"], "python make_results.py"):
        # this machine's folders appear as the Makefile's variables, which a reader sets to their own; other
        # arguments that merely start with a folder's path (the reports beside it) stay as they are
        args = shlex.split(command)
        assert shlex.join(folders.get(a, a) for a in args) in text
        assert all(f" {a} " not in text for a in args if a in folders)
    assert f"{run['n_samples']} images" in text and "A limited run" not in text
    counts = _json(real, "run.json")["n_per_label"]
    assert sum(counts.values()) == _json(real, "run.json")["n_samples"]
    assert (f"{counts['ghosting']} ghosting, {counts['flare']} flare, {counts['moire']} moire and "
            f"{counts['clean']} clean references") in text
    targets = text.split(f"## Targets of `{DEFAULT}`")[1].split("## ")[0]
    moire = metrics[DEFAULT]["moire"]
    expected = []
    for value, goal in [(moire["pixel_auroc"], 0.95), (moire["aupro"], 0.75), (moire["image_auroc"], 0.95),
                        (real_moire["image_auroc"], 1.0), (real_moire["pair_win_rate"], 1.0)]:
        expected.append(format_value(value) + ("" if value is None else " ✅" if value >= goal else " ❌"))
    assert f"| moire | {' | '.join(expected)} |" in targets
    assert (f"| benchmark | `BENCH` = `{Path(benchmark).name}`: n_per_class 1, seed 7, size 64, splits test, "
            "3 source photos |") in text
    assert "no trained weights (random init)" in text  # the fingerprint the cache recorded for the default
    for method, twin in (("psnr", "yes"), ("spectral", "no")):  # psnr is pyiqa's full-reference PSNR
        info = run["methods"][method]
        assert (f"| {method} | {'yes' if info['has_maps'] else 'no'} | {', '.join(info['classes'])} | {twin} "
                "| training-free |") in text

    assert not (assets / "curves_old.png").exists()
    for name in ("curves_any.png", "curves_moire.png", "grid.png"):
        assert (assets / name).read_bytes() == (test / name).read_bytes()
        assert f"](assets/results/{name})" in text
    # curves of `any` have no pixel panels: two panels, half the width of a class's four
    assert Image.open(test / "curves_any.png").width * 2 == Image.open(test / "curves_moire.png").width


def test_a_limited_run_says_so(benchmark: Path, real_dir: Path, tmp_path: Path) -> None:
    test, real = _reports(benchmark, real_dir, tmp_path, "--limit", "3")
    text = results_page(test, real, tmp_path / "results.md", tmp_path / "assets", DEFAULT, "cmd")
    assert "A limited run" in text and "the benchmark split to its first 3 images" in text
    assert "real photos to its first" not in text


def test_reports_that_cannot_share_a_page_are_refused(benchmark: Path, real_dir: Path, tmp_path: Path) -> None:
    test, real = _reports(benchmark, real_dir, tmp_path)
    page, assets = tmp_path / "results.md", tmp_path / "assets"
    with pytest.raises(ReportMismatch, match="was not made with `ipad-iqa evaluate --benchmark`"):
        results_page(real, real, page, assets, DEFAULT, "cmd")
    with pytest.raises(ReportMismatch, match="the test report has no 'ipad_clip'"):
        results_page(test, real, page, assets, "ipad_clip", "cmd")
    info_file = real / "cache" / "spectral" / "method.json"
    info_file.write_text(json.dumps(json.loads(info_file.read_text()) | {"fingerprint": "checkpoint sha256 0123"}))
    with pytest.raises(ReportMismatch, match="'spectral' ran with training-free on the benchmark and checkpoint"):
        results_page(test, real, page, assets, DEFAULT, "cmd")


def test_script_writes_the_page(benchmark: Path, real_dir: Path, tmp_path: Path, docs_script, capsys) -> None:
    test, real = _reports(benchmark, real_dir, tmp_path)
    page = tmp_path / "results.md"
    argv = ["--test", str(test), "--real", str(real), "--default", DEFAULT, "--page", str(page),
            "--assets", str(tmp_path / "assets")]
    docs_script("make_results").main(argv)
    text = page.read_text()
    assert text.startswith("# Results\n") and f"python docs/scripts/make_results.py --test {test}" in text
    assert f"wrote {page}" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no 'nope'"):
        docs_script("make_results").main([*argv, "--default", "nope"])
