"""``ipad-iqa score --engine ray`` and the Ray Data recipe on a local cluster, against the single-process rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from ipad_iqa.cli.main import main
from ipad_iqa.cli.score import EXIT_SOME_FAILED, EXIT_USAGE, make_pyiqa_scorer, score_paths

METRIC = "ipad_clip_test"  # tiny random model: fast, deterministic, its scores mean nothing
BROKEN = "b.png"

pytestmark = pytest.mark.slow  # Ray starts actors (each imports torch) for every run


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six images of two sizes and, second in name order, a file that is no image: in batches of three
    rows (the recipe) it fails in the middle of the first one."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for name, height in [("a.png", 64), ("c.png", 72), ("d.png", 64), ("e.jpg", 72), ("f.png", 64),
                         ("g.png", 72)]:
        Image.fromarray(rng.integers(0, 256, (height, 80, 3), dtype=np.uint8)).save(root / name)
    (root / BROKEN).write_text("not an image")
    return root


def test_cli_on_ray_writes_the_single_process_results(ray_cluster: ModuleType, folder: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The real command in a new process joins the cluster by --address; table, CSV and exit code match."""
    argv = ["score", str(folder), "--metric", METRIC, "--batch-size", "3"]
    local, on_ray = tmp_path / "local.csv", tmp_path / "ray.csv"
    assert main([*argv, "--out", str(local)]) == EXIT_SOME_FAILED
    table = capsys.readouterr().out
    address = ray_cluster.get_runtime_context().gcs_address
    proc = subprocess.run([sys.executable, "-m", "ipad_iqa.cli.main", *argv, "--out", str(on_ray),
                           "--engine", "ray", "--address", address, "--actors", "2"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr[-3000:]
    assert proc.stdout == table
    assert on_ray.read_bytes() == local.read_bytes()
    rows = local.read_text().splitlines()[1:]
    assert len(rows) == 7 and [row.endswith(",") for row in rows].count(False) == 1  # only b.png has an error
    assert rows[1].startswith(f"{folder / BROKEN},,,,,,not an image")  # score, 3 classes, flagged empty


def test_recipe_reads_uris_keeps_columns_and_never_drops_a_row(ray_cluster: ModuleType, folder: Path) -> None:
    """score_dataset on file:// URIs (a missing one too) carries an id column through; rows equal score_paths
    although b.png fails in the middle of the first batch of three."""
    from ipad_iqa.cli.ray_engine import score_dataset

    files = sorted(folder.iterdir())
    uris = [p.as_uri() for p in files] + [(folder / "missing.png").as_uri()]
    dataset = ray_cluster.data.from_items([{"id": i, "path": uri} for i, uri in enumerate(uris)])
    frame = score_dataset(dataset, METRIC, batch_size=3, actors=1).to_pandas().sort_values("id")
    assert frame["id"].tolist() == list(range(len(uris)))
    assert frame["path"].tolist() == uris
    scorer = make_pyiqa_scorer(METRIC, "cpu", maps="grid")
    expected = score_paths(files, scorer, progress=False, thresholds=scorer.thresholds)
    for row, got in zip(expected, frame.iloc[:-1].itertuples(), strict=True):
        assert (got.error, got.flagged) == (row.error, row.flagged)
        np.testing.assert_array_equal([got.score, got.ghosting, got.flare, got.moire],
                                      [row.score, *row.class_probs])
    assert frame["error"].iloc[-1] == "no such file or folder" and np.isnan(frame["score"].iloc[-1])


def test_cuda_on_a_cluster_without_gpu_is_a_usage_error(ray_cluster: ModuleType, folder: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["score", str(folder / "a.png"), "--metric", METRIC, "--engine", "ray", "--device", "cuda"])
    assert code == EXIT_USAGE
    assert "the Ray cluster has no GPU" in capsys.readouterr().err


def test_without_ray_the_error_names_the_extra(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` finds without the extra
    monkeypatch.setitem(sys.modules, "ray.data", None)
    assert main(["score", str(folder / "a.png"), "--metric", METRIC, "--engine", "ray"]) == EXIT_USAGE
    assert main(["make-shards", "--clean-dir", str(folder), "--out", str(tmp_path), "--n", "1",
                 "--engine", "ray"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all("pip install 'ipad-iqa[ray]'" in line for line in errors)


def refusing_ray(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    """Stand in for Ray with a module whose ``init`` raises the ConnectionError Ray raises for ``message``."""

    def refuse(address: str | None = None) -> None:
        raise ConnectionError(message)

    ray = ModuleType("ray")
    ray.is_initialized, ray.init = lambda: False, refuse
    monkeypatch.setitem(sys.modules, "ray", ray)
    monkeypatch.setitem(sys.modules, "ray.data", ModuleType("ray.data"))


def test_unreachable_cluster_and_maps_dir_are_usage_errors(folder: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """What ``ray.init`` raises for an address with no cluster behind it becomes a one-line usage error."""

    refusing_ray(monkeypatch, "Could not find any running Ray instance.")
    monkeypatch.setenv("HOME", str(tmp_path))  # no Ray token on this machine: no authentication hint
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    image = str(folder / "a.png")
    assert main(["score", image, "--metric", METRIC, "--engine", "ray", "--address", "auto"]) == EXIT_USAGE
    assert main(["score", image, "--engine", "ray", "--maps-dir", str(tmp_path / "maps")]) == EXIT_USAGE
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors[0] == ("ipad-iqa score: error: cannot reach a Ray cluster at auto: Could not find any running "
                         "Ray instance.")
    assert "--maps-dir" in errors[1] and len(errors) == 2


def test_refused_connection_names_token_authentication_when_this_machine_has_a_token(
        folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ray 2.59+ heads started by `ray start` require a token whenever one exists on the machine, and a client
    without RAY_AUTH_MODE=token is refused with a plain connection error: the message says what to set."""

    refusing_ray(monkeypatch, "Failed to connect to Ray cluster at 10.0.0.1:6379")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    token = tmp_path / "token"
    token.write_text("secret")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    args = ["score", str(folder / "a.png"), "--metric", METRIC, "--engine", "ray", "--address", "10.0.0.1:6379"]
    assert main(args) == EXIT_USAGE
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # already sending the token: the hint would mislead
    assert main(args) == EXIT_USAGE
    hinted, plain = capsys.readouterr().err.strip().splitlines()
    assert hinted.endswith(f"(this machine has a Ray token, {token}, so a cluster started here by `ray start` "
                           "requires token authentication: run the command with RAY_AUTH_MODE=token)")
    assert plain == "ipad-iqa score: error: cannot reach a Ray cluster at 10.0.0.1:6379: Failed to connect to Ray " \
                    "cluster at 10.0.0.1:6379"


def test_file_name_that_is_not_utf8_is_refused_before_ray(folder: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Arrow cannot carry such a name to the actors: a usage error naming the file, before any cluster work."""
    import os

    from PIL import Image

    odd = tmp_path / "odd"
    odd.mkdir()
    Image.open(folder / "a.png").save(odd / os.fsdecode(b"caf\xe9.png"))
    assert main(["score", str(odd), "--metric", METRIC, "--engine", "ray", "--address", "auto"]) == EXIT_USAGE
    assert "caf\\xe9.png: a file name that is not UTF-8 cannot travel to Ray actors" in capsys.readouterr().err
