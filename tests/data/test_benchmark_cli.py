"""make-benchmark / show-benchmark end to end on the scikit-image samples, and the benchmark reader."""

from __future__ import annotations

import argparse
import csv
import hashlib

import numpy as np
import pytest
import torch

from ipad_iqa.cli import make_benchmark, show_benchmark
from ipad_iqa.data.datasets import IPADBenchmark


def _cli(module, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def _tree(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


ARGS = ["--n-per-class", "2", "--n-clean", "2", "--size", "128", "--quiet"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "b1"
    assert _cli(make_benchmark, ["--out", str(out), *ARGS]) == 0
    return out


def test_manifest(bench):
    with (bench / "manifest.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["image", "mask", "label", "split", "source", "severity", "params"]
    assert sorted(r["label"] for r in rows) == sorted(["clean", "ghosting", "flare", "moire"] * 2)
    for r in rows:
        assert (bench / r["image"]).is_file()
        assert (r["mask"] == "") == (r["label"] == "clean")
        assert r["source"].startswith("skimage/")


def test_byte_identical_across_workers_and_rerun_is_noop(bench, tmp_path, capsys):
    other = tmp_path / "b2"
    assert _cli(make_benchmark, ["--out", str(other), "--workers", "2", *ARGS]) == 0
    assert _tree(bench) == _tree(other)
    before = _tree(other)
    assert _cli(make_benchmark, ["--out", str(other), *ARGS]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert _tree(other) == before


def test_refuses_different_benchmark(bench, tmp_path, capsys):
    other = tmp_path / "b3"
    assert _cli(make_benchmark, ["--out", str(other), *ARGS]) == 0
    before = _tree(other)
    assert _cli(make_benchmark, ["--out", str(other), *ARGS, "--seed", "1"]) == 2
    assert "different benchmark" in capsys.readouterr().err
    assert _tree(other) == before
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.txt").write_text("mine")
    assert _cli(make_benchmark, ["--out", str(junk), *ARGS]) == 2


def test_unreadable_source_is_recorded(tmp_path, photos, capsys):
    from PIL import Image

    pool = tmp_path / "pool"
    pool.mkdir()
    Image.fromarray((photos["astronaut"] * 255).astype(np.uint8)).save(pool / "good.png")
    (pool / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "b4"
    assert _cli(make_benchmark, ["--clean-dir", str(pool), "--out", str(out), "--n-per-class", "1",
                                 "--n-clean", "1", "--size", "96", "--quiet"]) == 0
    assert "broken.jpg" in capsys.readouterr().err
    assert "broken.jpg" in (out / "skipped_sources.csv").read_text()


def test_reader_and_sheet(bench, tmp_path):
    ds = IPADBenchmark(bench)
    assert len(ds) == 8
    for item in ds:
        lab = int(item["label"])
        assert item["image"].shape == (3, 128, 128)
        assert (item["masks"].sum() > 0) == (lab > 0)
        if lab:
            assert item["masks"][lab - 1].sum() == item["masks"].sum()
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 128, 128)
    sheet = tmp_path / "sheet.png"
    assert _cli(show_benchmark, [str(bench), "--n", "8", "--out", str(sheet), "--stats", "--tile", "64"]) == 0
    assert sheet.stat().st_size > 1000
