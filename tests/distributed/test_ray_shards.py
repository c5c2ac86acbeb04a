"""``make-shards --engine ray``: Ray tasks write the files of a serial run, byte for byte."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from ipad_iqa.cli import ray_engine
from ipad_iqa.cli.main import main
from ipad_iqa.cli.ray_engine import task_splits
from ipad_iqa.data.shards import my_shards


@pytest.mark.parametrize(("shard_index", "num_shards", "tasks", "total"),
                         [(0, 1, 2, 4), (0, 1, 3, 10), (1, 2, 2, 9), (2, 3, 4, 30)])
def test_task_splits_cover_the_process_shards_once(shard_index: int, num_shards: int, tasks: int,
                                                   total: int) -> None:
    parts = [my_shards(total, index, count) for index, count in task_splits(shard_index, num_shards, tasks)]
    flat = [k for part in parts for k in part]
    assert sorted(flat) == my_shards(total, shard_index, num_shards)
    assert len(flat) == len(set(flat))


@pytest.mark.parametrize("options", [[], ["--ghosting-modes", "1,0,0,0"]])  # options reach the tasks
def test_make_shards_on_ray_is_byte_identical_to_serial(ray_cluster: ModuleType, photo_pool: Path,
                                                        tmp_path: Path, file_digests: Callable[[Path], dict],
                                                        capsys: pytest.CaptureFixture[str],
                                                        options: list[str]) -> None:
    pytest.importorskip("pycvvdp", reason="the synth extra is not installed (pip install 'ipad-iqa[synth]')")
    # Four one-sample shards over two CPUs: two tasks of two shards each.
    argv = ["make-shards", "--clean-dir", str(photo_pool), "--n", "4", "--size", "96", "--shard-size", "1",
            "--seed", "3", "--quiet", *options]
    assert main([*argv, "--out", str(tmp_path / "serial")]) == 0
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "ray"), "--engine", "ray"]) == 0
    summaries = capsys.readouterr().out.strip().splitlines()
    assert len(summaries) == 2 and all("wrote 2 shard(s), 2 samples" in line for line in summaries)
    assert file_digests(tmp_path / "ray") == file_digests(tmp_path / "serial")
    assert len(file_digests(tmp_path / "serial")) == 5  # spec.json and four shards


def test_workers_with_ray_is_refused(photo_pool: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["make-shards", "--clean-dir", str(photo_pool), "--out", str(tmp_path), "--n", "4", "--engine", "ray",
            "--workers", "2"]
    assert main(argv) == 2
    assert "--workers is for --engine local" in capsys.readouterr().err


def test_a_bad_ghosting_mix_is_refused_before_a_cluster_is_sought(photo_pool: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    def no_cluster(address: str | None) -> None:
        raise AssertionError("a Ray cluster was sought before the ghosting mix was checked")

    monkeypatch.setattr(ray_engine, "ray_session", no_cluster)
    argv = ["make-shards", "--clean-dir", str(photo_pool), "--out", str(tmp_path), "--n", "4", "--engine", "ray",
            "--ghosting-modes", "1,0,0"]
    assert main(argv) == 2
    assert "ghosting mode probabilities" in capsys.readouterr().err
