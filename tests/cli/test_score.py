"""``ipad-iqa score`` end to end with a fake scorer: rows, exit codes, output formats, overlays, raw maps,
batching, the progress bar."""

from __future__ import annotations

import io
import math
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from ipad_iqa.cli import score
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput

GOOD = ["a/x.png", "b/x.png", "c.jpg", "d.png"]
BAD = {"empty.png": "empty file", "text.png": "not an image", "tiny.png": "minimum is 32x32"}


def _run(parse: Callable[[list[str]], Namespace], argv: list[str], scorer: score.Scorer) -> tuple[int, str]:
    out = io.StringIO()
    code = score.run(parse(argv), scorer=scorer, stdout=out)
    return code, out.getvalue()


def test_folder_with_bad_files(parse, fake_scorer, image_folder: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    maps_dir = tmp_path / "maps"
    csv = tmp_path / "res.csv"
    argv = [str(image_folder), str(missing), "--recursive", "--out", str(csv), "--maps-dir", str(maps_dir),
            "--batch-size", "4"]
    code, table = _run(parse, argv, fake_scorer)

    assert code == score.EXIT_SOME_FAILED
    frame = pd.read_csv(csv, keep_default_na=False)
    assert list(frame.columns) == list(score.COLUMNS)
    names = [*GOOD, *BAD]
    assert frame["path"].tolist() == [str(image_folder / n) for n in names] + [str(missing)]
    for name, row in zip(names + ["missing.png"], frame.itertuples(), strict=True):
        if name in GOOD:
            assert row.error == "" and 0.0 <= float(row.score) <= 1.0
        else:
            assert row.score == "" and BAD.get(name, "no such file or folder") in row.error
    red = frame.iloc[0]
    assert float(red.ghosting) == pytest.approx(200 / 255, abs=1e-4)  # fake: probs are channel means

    overlays = sorted(p.name for p in maps_dir.iterdir())
    # named relative to tmp_path, the folder common to all inputs (missing.png included)
    assert overlays == [f"good__{n.replace('/', '__')}.overlay.png" for n in sorted(GOOD)]
    assert Image.open(maps_dir / overlays[0]).mode == "RGB"
    assert "missing.png" in table and "no such file or folder" in table


def test_identical_sizes_batched_and_results_independent(parse, fake_scorer, image_folder: Path,
                                                         tmp_path: Path) -> None:
    frames = []
    for batch_size in ("1", "3"):
        scorer = type(fake_scorer)()  # a fresh recorder per run
        out = tmp_path / f"b{batch_size}.json"
        _run(parse, [str(image_folder), "--recursive", "--batch-size", batch_size, "--out", str(out)], scorer)
        frames.append(pd.read_json(out))
        sizes = sorted(shape[0] for shape in scorer.batch_shapes)
        # a/x.png, b/x.png and d.png share 64x48; c.jpg is alone
        assert sizes == ([1, 1, 1, 1] if batch_size == "1" else [1, 3])
    pd.testing.assert_frame_equal(frames[0], frames[1])


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_output_formats(parse, fake_scorer, image_folder: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / "deep" / f"results{suffix}"
    code, _ = _run(parse, [str(image_folder / "c.jpg"), str(image_folder / "text.png"), "--out", str(out)],
                   fake_scorer)
    assert code == score.EXIT_SOME_FAILED
    reader = {".csv": pd.read_csv, ".json": pd.read_json, ".parquet": pd.read_parquet}[suffix]
    frame = reader(out)
    assert list(frame.columns) == list(score.COLUMNS)
    assert len(frame) == 2
    assert 0.0 < float(frame["score"].iloc[0]) < 1.0 and math.isnan(float(frame["score"].iloc[1]))
    assert "not an image" in frame["error"].iloc[1]
    if suffix == ".json":
        assert '"score": null' in out.read_text() and "\\/" not in out.read_text()


def test_all_good_exit_zero_and_aligned_table(parse, fake_scorer, image_folder: Path) -> None:
    code, table = _run(parse, [str(image_folder / n) for n in GOOD], fake_scorer)
    assert code == score.EXIT_OK
    lines = table.strip().splitlines()
    assert lines[0].split() == list(score.COLUMNS)
    assert len(lines) == 1 + len(GOOD)
    ends = {line.index("moire") + len("moire") if i == 0 else len(line) for i, line in enumerate(lines)}
    assert len(ends) == 1  # the numeric columns end at the same position on every line


def test_flagged_column_from_thresholds(parse, fake_scorer, image_folder: Path, tmp_path: Path) -> None:
    """Calibrated weights: each scored row names the classes above their thresholds; failed rows stay empty.
    The fake's class probabilities are the channel means: red a/x.png ~ (0.78, 0.04, 0.04), green b/x.png,
    blue c.jpg, grey d.png (0.5, 0.5, 0.5)."""
    from ipad_iqa.thresholds import Thresholds

    thresholds = Thresholds(values={"ghosting": 0.6, "flare": 0.45, "moire": 0.9}, target_fpr=0.05,
                            calibrated_on="test")
    out = tmp_path / "flags.csv"
    argv = [str(image_folder / n) for n in [*GOOD, "text.png"]] + ["--out", str(out)]
    code, table = _run(parse, argv, score.MetricScorer(fake_scorer, thresholds))
    assert code == score.EXIT_SOME_FAILED
    frame = pd.read_csv(out, keep_default_na=False)
    assert frame["flagged"].tolist() == ["ghosting", "flare", "none", "flare", ""]
    assert table.splitlines()[4].split()[-1] == "flare"  # d.png in the printed table

    uncalibrated = tmp_path / "plain.csv"
    _run(parse, [str(image_folder / "d.png"), "--out", str(uncalibrated)], score.MetricScorer(fake_scorer))
    assert pd.read_csv(uncalibrated, keep_default_na=False)["flagged"].tolist() == [""]


def test_unsupported_extension_is_usage_error(parse, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(["x.png", "--out", "results.xlsx"])
    assert exc.value.code == score.EXIT_USAGE
    assert "unsupported output extension '.xlsx'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["x.png", "--batch-size", "0"], ["x.png", "--device", "tpu"]])
def test_other_usage_errors(parse, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(argv)
    assert exc.value.code == score.EXIT_USAGE


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_unavailable_is_clear(parse, capsys: pytest.CaptureFixture[str]) -> None:
    assert score.run(parse(["x.png", "--device", "cuda"])) == score.EXIT_USAGE
    assert "CUDA is not available" in capsys.readouterr().err


def test_unknown_metric(parse, capsys: pytest.CaptureFixture[str]) -> None:
    assert score.run(parse(["x.png", "--metric", "no_such_metric"])) == score.EXIT_USAGE
    assert "unknown metric 'no_such_metric'" in capsys.readouterr().err


def test_full_reference_metric_refused(parse, capsys: pytest.CaptureFixture[str]) -> None:
    assert score.run(parse(["x.png", "--metric", "psnr"])) == score.EXIT_USAGE
    assert "psnr is a full-reference metric" in capsys.readouterr().err


def test_scorer_failure_recorded_and_run_continues(parse, fake_scorer, image_folder: Path) -> None:
    def flaky(x: torch.Tensor) -> IPADOutput:
        if x.shape[-1] == 40:
            raise RuntimeError("out of memory")
        return fake_scorer(x)

    code, table = _run(parse, [str(image_folder / "c.jpg"), str(image_folder / "d.png")], flaky)
    assert code == score.EXIT_SOME_FAILED
    lines = table.splitlines()
    assert "scoring failed: RuntimeError: out of memory" in lines[1]
    assert lines[2].split()[1:] == ["0.4980", "0.5020", "0.5020", "0.5020"]  # d.png scored, no error


def test_pyiqa_metric_path(parse, fake_scorer, image_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real scorer path: a metric registered in pyiqa is created and called with return_maps=True."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS
    from pyiqa.utils.registry import ARCH_REGISTRY

    class FakeIPADArch(torch.nn.Module):
        def forward(self, x: torch.Tensor, return_maps: bool = False) -> IPADOutput | torch.Tensor:
            out = fake_scorer(x)
            return out if return_maps else out.score

    monkeypatch.setitem(ARCH_REGISTRY._obj_map, "FakeIPADArch", FakeIPADArch)
    monkeypatch.setitem(DEFAULT_CONFIGS, "ipad_clip_fake_test", {
        "metric_opts": {"type": "FakeIPADArch"}, "metric_mode": "NR", "lower_better": False,
        "score_range": "0, 1"})
    out = io.StringIO()
    code = score.run(parse([str(image_folder / "d.png"), "--metric", "ipad_clip_fake_test"]), stdout=out)
    assert code == score.EXIT_OK
    assert fake_scorer.batch_shapes == [(1, 3, 48, 64)]
    assert out.getvalue().splitlines()[1].split()[1] == f"{1 - 128 / 255:.4f}"


def test_output_stems_unique_and_readable(tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "x.png", tmp_path / "b" / "x.png", tmp_path / "a" / "x.png"]
    assert score.output_stems(paths) == ["a__x.png", "b__x.png", "a__x.png-2"]
    assert score.output_stems([tmp_path / "only.jpg"]) == ["only.jpg"]


@pytest.mark.parametrize("fmt", score.MAPS_FORMATS)
def test_save_maps_read_back(parse, fake_scorer, image_folder: Path, tmp_path: Path, fmt: str) -> None:
    """Raw maps are written at the resolution the scorer gives them (the fake: the image itself) and read back
    equal: exactly from .npy, within one 16-bit level from PNG."""
    from ipad_iqa.io import load_image

    maps_dir = tmp_path / "maps"
    inputs = [image_folder / "c.jpg", image_folder / "a" / "x.png"]
    code, _ = _run(parse, [*map(str, inputs), "--maps-dir", str(maps_dir), "--save-maps", fmt], fake_scorer)
    assert code == score.EXIT_OK
    for path, stem in zip(inputs, score.output_stems(inputs), strict=True):
        expected = load_image(path).numpy()
        assert (maps_dir / f"{stem}{score.OVERLAY_SUFFIX}").is_file()
        if fmt == "npy":
            saved = np.load(maps_dir / f"{stem}.maps.npy")
            assert saved.dtype == np.float32
            np.testing.assert_array_equal(saved, expected)
            continue
        for name, plane in zip(ARTIFACT_CLASSES, expected, strict=True):
            with Image.open(maps_dir / f"{stem}.{name}.png") as png:
                levels = np.asarray(png)
            assert levels.dtype == np.uint16 and levels.shape == plane.shape
            assert np.abs(levels / 65535 - plane).max() <= 1 / 65535


def test_save_maps_needs_maps_dir(parse, fake_scorer, image_folder: Path, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    code, _ = _run(parse, [str(image_folder / "c.jpg"), "--save-maps", "npy"], fake_scorer)
    assert code == score.EXIT_USAGE
    assert "--save-maps writes into --maps-dir" in capsys.readouterr().err
    assert fake_scorer.batch_shapes == []  # refused before anything was scored


def test_quiet_hides_the_progress_bar(parse, fake_scorer, image_folder: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(image_folder / "c.jpg"), str(image_folder / "d.png")]
    for quiet in (False, True):
        capsys.readouterr()
        assert _run(parse, argv + ["--quiet"] * quiet, fake_scorer)[0] == score.EXIT_OK
        err = capsys.readouterr().err
        assert ("2/2" in err) is not quiet


def test_results_file_survives_a_closed_pipe(parse, fake_scorer, image_folder: Path, tmp_path: Path) -> None:
    """`ipad-iqa score ... --out r.csv | head -1`: the reader leaving early must not cost the results file."""

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    csv = tmp_path / "r.csv"
    code = score.run(parse([str(image_folder / "c.jpg"), "--out", str(csv)]), scorer=fake_scorer,
                     stdout=ClosedPipe())
    assert code == score.EXIT_OK
    assert pd.read_csv(csv)["path"].tolist() == [str(image_folder / "c.jpg")]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_file_name_that_is_not_utf8(parse, fake_scorer, tmp_path: Path, suffix: str) -> None:
    """A Latin-1 file name (bytes Python keeps as surrogates) is scored and written, its odd byte as \\xe9."""
    import os

    folder = tmp_path / "enc"
    folder.mkdir()
    Image.new("RGB", (40, 40)).save(folder / os.fsdecode(b"caf\xe9.png"))
    out = tmp_path / f"r{suffix}"
    code, _ = _run(parse, [str(folder), "--out", str(out)], fake_scorer)
    assert code == score.EXIT_OK
    reader = {".csv": pd.read_csv, ".json": pd.read_json, ".parquet": pd.read_parquet}[suffix]
    assert reader(out)["path"].tolist() == [f"{folder}/caf\\xe9.png"]


def test_outputs_that_exist_or_cannot_be_written_are_refused_first(parse, fake_scorer, image_folder: Path,
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    one = str(image_folder / "c.jpg")
    for extra, message in [(["--out", str(a_file / "r.csv")], "cannot create its folder"),
                           (["--maps-dir", str(a_file / "maps")], "cannot create it")]:
        assert _run(parse, [one, *extra], fake_scorer)[0] == score.EXIT_USAGE
        assert message in capsys.readouterr().err
    # an earlier run's results and overlays are not replaced silently
    csv, maps = tmp_path / "r.csv", tmp_path / "maps"
    assert _run(parse, [one, "--out", str(csv), "--maps-dir", str(maps)], fake_scorer)[0] == score.EXIT_OK
    assert _run(parse, [one, "--out", str(csv)], fake_scorer)[0] == score.EXIT_USAGE
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert _run(parse, [one, "--maps-dir", str(maps)], fake_scorer)[0] == score.EXIT_USAGE
    assert "already holds 1 file(s) this run would write (e.g. c.jpg.overlay.png)" in capsys.readouterr().err
    assert fake_scorer.batch_shapes == [(1, 3, 40, 40)]  # only the first run scored anything
    code, _ = _run(parse, [one, "--out", str(csv), "--maps-dir", str(maps), "--overwrite"], fake_scorer)
    assert code == score.EXIT_OK


def test_ctrl_c_keeps_the_rows_scored_so_far(parse, image_folder: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    calls = []

    def interrupted_on_the_second_image(x: torch.Tensor) -> IPADOutput:
        calls.append(x.shape)
        if len(calls) == 2:
            raise KeyboardInterrupt
        probs = x.mean(dim=(2, 3))
        return IPADOutput(1 - probs.mean(dim=1, keepdim=True), probs, x)

    csv = tmp_path / "r.csv"
    inputs = [str(image_folder / n) for n in ("c.jpg", "d.png", "a/x.png")]
    code, table = _run(parse, [*inputs, "--out", str(csv)], interrupted_on_the_second_image)
    assert code == score.EXIT_INTERRUPTED
    frame = pd.read_csv(csv, keep_default_na=False)
    assert frame["error"].tolist() == ["", score.NOT_SCORED, score.NOT_SCORED]
    assert frame["score"].iloc[0] != ""
    assert "interrupted, 2 of 3 inputs not scored" in capsys.readouterr().err
    assert table.count(score.NOT_SCORED) == 2


@pytest.mark.parametrize("where", ["inside", "same", "glob", "linked"])
def test_own_outputs_are_not_read_back_as_inputs(parse, fake_scorer, image_folder: Path, where: str) -> None:
    """A second run over the same inputs scores the photos, not the first run's overlays: --maps-dir inside
    the scored folder, the scored folder itself, reached by a pattern, or through a link to the folder."""
    maps = image_folder / "overlays" if where != "same" else image_folder
    inputs = {"inside": [str(image_folder), "--recursive"], "same": [str(image_folder)],
              "glob": [f"{image_folder}/**/*.png", "--recursive"],
              "linked": [str(image_folder.parent / "link"), "--recursive"]}[where]
    if where == "linked":
        (image_folder.parent / "link").symlink_to(image_folder)
    argv = [*inputs, "--maps-dir", str(maps), "--out", str(image_folder / "r.json")]
    first = _run(parse, argv, fake_scorer)[1]
    second = _run(parse, [*argv, "--overwrite"], fake_scorer)[1]
    assert first == second and "overlay" not in second and "r.json" not in second
    assert any(line.split()[1:2] and line.split()[1][0].isdigit() for line in second.splitlines()[1:])


def test_glob_does_not_follow_a_link_loop(parse, fake_scorer, image_folder: Path) -> None:
    (image_folder / "loop").symlink_to(image_folder)
    rows = _run(parse, [f"{image_folder}/**/x.png", "--recursive"], fake_scorer)[1].splitlines()[1:]
    assert [row.split()[0] for row in rows] == [str(image_folder / "a" / "x.png"), str(image_folder / "b" / "x.png")]


def test_broken_link_to_a_name_that_is_not_utf8(parse, fake_scorer, tmp_path: Path) -> None:
    import os

    folder = tmp_path / "links"
    folder.mkdir()
    os.symlink(b"/nowhere/caf\xe9.png", os.fsencode(folder / "gone.png"))
    csv = tmp_path / "r.csv"
    assert _run(parse, [str(folder), "--out", str(csv)], fake_scorer)[0] == score.EXIT_SOME_FAILED
    error = pd.read_csv(csv, keep_default_na=False)["error"].iloc[0]
    assert error == "broken symbolic link (to /nowhere/caf\\xe9.png, which does not exist)"


def test_links_broken_links_and_other_extensions(parse, fake_scorer, image_folder: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "b.jfif").write_bytes((image_folder / "c.jpg").read_bytes())
    (folder / "link.jpg").symlink_to(image_folder / "a" / "x.png")
    (folder / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (folder / "notes.txt").write_text("not scored")
    maps = tmp_path / "maps"
    code, _ = _run(parse, [str(folder), "--maps-dir", str(maps), "--out", str(tmp_path / "r.csv")], fake_scorer)
    assert code == score.EXIT_SOME_FAILED
    frame = pd.read_csv(tmp_path / "r.csv", keep_default_na=False).set_index("path")
    assert frame.loc[str(folder / "b.jfif"), "error"] == ""
    assert frame.loc[str(folder / "gone.jpg"), "error"].startswith("broken symbolic link")
    assert "1 file(s) in the given folders have no image extension" in capsys.readouterr().err
    # overlays are named after the link, as given, not after its target
    assert sorted(p.name for p in maps.iterdir()) == ["b.jfif.overlay.png", "link.jpg.overlay.png"]


def test_global_metric_refused_with_where_to_use_it(parse, capsys: pytest.CaptureFixture[str]) -> None:
    assert score.run(parse(["x.png", "--metric", "entropy"])) == score.EXIT_USAGE
    err = capsys.readouterr().err
    assert "entropy is a global pyiqa metric" in err and "evaluate --methods ipad_clip,entropy" in err
