"""make-benchmark / show-benchmark end to end on the scikit-image samples, the clean references, the benchmark
reader and the full-reference baselines of the evaluation harness on the written benchmark."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from ipad_iqa.cli import make_benchmark, show_benchmark
from ipad_iqa.cli.main import main
from ipad_iqa.data.benchmark import IPADBenchmark, discover_sources, sample_seed
from ipad_iqa.data.pipeline import render_sample
from ipad_iqa.data.synth.common import as_rgb


def _cli(module, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def _tree(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


ARGS = ["--version", "v1", "--n-per-class", "2", "--n-clean", "2", "--size", "128", "--quiet"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "b1"
    assert _cli(make_benchmark, ["--out", str(out), *ARGS]) == 0
    return out


def _manifest(root: Path) -> list[dict]:
    with (root / "manifest.csv").open() as f:
        return list(csv.DictReader(f))


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def test_manifest(bench):
    rows = _manifest(bench)
    assert list(rows[0]) == ["image", "mask", "label", "split", "source", "severity", "params", "reference"]
    assert sorted(r["label"] for r in rows) == sorted(["clean", "ghosting", "flare", "moire"] * 2)
    for r in rows:
        assert (bench / r["image"]).is_file()
        assert (r["mask"] == "") == (r["label"] == "clean") == (r["reference"] == "")
        assert r["source"].startswith("skimage/")
        if r["reference"]:
            assert r["reference"] == r["image"].replace("images/", "references/", 1)
            assert _read(bench / r["reference"]).shape == _read(bench / r["image"]).shape


def test_references_are_clean_twins_differing_only_near_the_mask(bench):
    """The reference is the clean render of the same seed, and the artifact image departs from it only in or
    next to the mask: >= 80 % of the change within one JPEG block row (16 px) of it, and outside that, less than
    the mask rule's 2/255 visibility threshold on average."""
    loaders, _ = discover_sources(None)
    for r in (r for r in _manifest(bench) if r["reference"]):
        twin = render_sample(as_rgb(loaders[r["source"]]()), "clean", sample_seed(0, int(Path(r["image"]).stem)), 128)
        assert np.array_equal(_read(bench / r["reference"]), twin.image)
        assert twin.params["finish"] == json.loads(r["params"])["finish"]  # same noise and JPEG draws
        change = np.abs(_read(bench / r["image"]).astype(np.float32) - twin.image).mean(axis=2)
        near = ndimage.maximum_filter(_read(bench / r["mask"]) > 127, size=33)
        assert change[near].sum() >= 0.8 * change.sum(), r["image"]
        assert not (~near).any() or change[~near].mean() < 2.0, r["image"]


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
    assert _cli(make_benchmark, ["--version", "v1", "--clean-dir", str(pool), "--out", str(out),
                                 "--n-per-class", "1", "--n-clean", "1", "--size", "96", "--quiet"]) == 0
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
    small = tmp_path / "small.png"
    assert _cli(show_benchmark, [str(bench), "--n", "8", "--out", str(small), "--tile", "64", "--colors", "64"]) == 0
    with Image.open(small) as im, Image.open(sheet) as full:
        assert (im.mode, im.size) == ("P", full.size)


def test_full_reference_baselines_use_the_references(bench, tmp_path, capsys):
    """psnr/ssim score every image against its own reference column: none is n/a (the scikit-image sources
    are all in ``train``, and most artifact rows have no clean row of the same source to fall back on)."""
    out = tmp_path / "report"
    assert main(["evaluate", "--benchmark", str(bench), "--split", "train", "--methods", "psnr,ssim",
                 "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for method in ("psnr", "ssim"):  # where each method's predictions went
        assert f"predictions of {method}: {out / 'cache' / method}" in printed
        assert (out / "cache" / method / "method.json").is_file()
    run = json.loads((out / "run.json").read_text())["methods"]
    metrics = json.loads((out / "metrics.json").read_text())
    for method in ("psnr", "ssim"):
        assert (run[method]["n_images"], run[method]["n_skipped"]) == (8, 0)
        assert metrics[method]["any"]["image_auroc"] == 1.0  # a clean image is identical to its reference


def test_options_off_leave_the_spec_file_as_before(bench):
    """Folders written before ``ghosting_modes`` and ``splits`` existed must still verify: unset, they are not
    written into benchmark.json."""
    spec = json.loads((bench / "benchmark.json").read_text())
    assert not {"ghosting_modes", "splits", "reflection_scene"} & set(spec)


def test_ghosting_modes_change_only_the_ghosting_rows(bench, tmp_path, capsys):
    out = tmp_path / "refl"
    assert _cli(make_benchmark, ["--out", str(out), *ARGS, "--ghosting-modes", "0,0,0,1"]) == 0
    assert json.loads((out / "benchmark.json").read_text())["ghosting_modes"] == [0.0, 0.0, 0.0, 1.0]
    base, refl = _manifest(bench), _manifest(out)
    assert [r["label"] for r in base] == [r["label"] for r in refl]
    base_tree, refl_tree = _tree(bench), _tree(out)
    for a, b in zip(base, refl, strict=True):
        files = [a[k] for k in ("image", "mask", "reference") if a[k]]
        if a["label"] == "ghosting":
            assert json.loads(b["params"])["mode"] == "reflection"
            assert b["reference"] and refl_tree[b["reference"]] == base_tree[a["reference"]]  # same clean twin
        else:
            assert a == b and all(refl_tree[f] == base_tree[f] for f in files)
    before = _tree(out)
    assert _cli(make_benchmark, ["--out", str(out), *ARGS]) == 2  # the default mix is another benchmark
    assert "different benchmark" in capsys.readouterr().err
    assert _tree(out) == before


def test_splits_write_the_same_samples_as_the_full_benchmark(tmp_path, photos):
    from ipad_iqa.data.splits import split_of

    pool = tmp_path / "pool"
    pool.mkdir()
    names = [f"p{i}.png" for i in range(40)]
    test_names = [n for n in names if split_of(n) == "test"][:2]
    other_names = [n for n in names if split_of(n) != "test"][:2]
    assert test_names and other_names  # the hash split puts some of 40 names in each
    for n in test_names + other_names:
        Image.fromarray((photos["astronaut"] * 255).astype(np.uint8)).save(pool / n)
    common = ["--version", "v1", "--clean-dir", str(pool), "--n-per-class", "2", "--n-clean", "2", "--size", "96",
              "--quiet"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert _cli(make_benchmark, ["--out", str(full), *common]) == 0
    assert _cli(make_benchmark, ["--out", str(part), *common, "--splits", "test"]) == 0
    want = [r for r in _manifest(full) if r["split"] == "test"]
    assert want and _manifest(part) == want
    full_tree, part_tree = _tree(full), _tree(part)
    assert all(part_tree[f] == full_tree[f] for r in want for f in (r["image"], r["mask"], r["reference"]) if f)
    assert json.loads((part / "benchmark.json").read_text())["splits"] == ["test"]
    assert _cli(make_benchmark, ["--out", str(part), *common, "--splits", "test"]) == 0  # rerun verifies


def test_reflection_scene_other_reflects_another_source_of_the_same_split(tmp_path, photos):
    from ipad_iqa.data.splits import split_of

    pool = tmp_path / "pool"
    pool.mkdir()
    names = [f"p{i}.png" for i in range(40)]
    picked = [n for n in names if split_of(n) == "test"][:2] + [n for n in names if split_of(n) == "train"][:2]
    for n, img in zip(picked, ["astronaut", "rocket", "astronaut", "coffee"], strict=True):
        Image.fromarray((photos[img] * 255).astype(np.uint8)).save(pool / n)
    common = ["--version", "v1", "--clean-dir", str(pool), "--n-per-class", "3", "--n-clean", "1", "--size", "96", "--quiet",
              "--ghosting-modes", "0,0,0,1"]
    own, other = tmp_path / "own", tmp_path / "other"
    assert _cli(make_benchmark, ["--out", str(own), *common]) == 0
    assert _cli(make_benchmark, ["--out", str(other), *common, "--reflection-scene", "other"]) == 0
    assert json.loads((other / "benchmark.json").read_text())["reflection_scene"] == "other"
    own_tree, other_tree = _tree(own), _tree(other)
    for a, b in zip(_manifest(own), _manifest(other), strict=True):
        if a["label"] == "ghosting":
            assert json.loads(b["params"])["scene"] == "other" and own_tree[a["image"]] != other_tree[b["image"]]
            assert own_tree[a["reference"]] == other_tree[b["reference"]]  # the clean twin does not reflect
        else:
            assert a == b and own_tree[a["image"]] == other_tree[b["image"]]
    from ipad_iqa.data.benchmark import BenchmarkSpec, task_labels, task_scenes, task_sources

    spec = BenchmarkSpec(3, 1, 0, 96, tuple(sorted(picked)), str(pool), reflection_scene="other")
    labels = task_labels(spec)
    sources = task_sources(spec, len(labels))
    for label, source, scene in zip(labels, sources, task_scenes(spec, labels, sources), strict=True):
        assert (scene is None) == (label != "ghosting")
        assert scene is None or (scene != source and split_of(scene) == split_of(source))
    assert _cli(make_benchmark, ["--out", str(other), *common, "--reflection-scene", "other"]) == 0  # verifies


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--ghosting-modes", "1,2", "ghosting mode probabilities"),
    ("--ghosting-modes", "0,0,0,0", "positive sum"),
    ("--splits", "tset", "splits must be"),
    ("--reflection-scene", "mirror", "reflection scene must be"),
])
def test_bad_options_fail_before_writing(tmp_path, capsys, option, value, message):
    out = tmp_path / "bad"
    assert _cli(make_benchmark, ["--out", str(out), *ARGS, option, value]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_ghosting_modes_must_be_numbers():
    parser = argparse.ArgumentParser()
    make_benchmark.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--out", "x", "--ghosting-modes", "a,b"])


def test_stats_leave_out_splits_without_rows(tmp_path):
    """A --splits test benchmark gets a table of its own split, not rows of zeros for the others."""
    from ipad_iqa.cli.show_benchmark import stats_markdown
    from ipad_iqa.data.benchmark import ManifestRow

    rows = [ManifestRow(key=f"images/{s}/clean/{i}.png", image=tmp_path / f"{i}.png", mask=None, label="clean",
                        split=s, source=f"p{i}", severity=None, jod=None, params={}, reference=None)
            for i, s in enumerate(("test", "test", "val"))]
    table = stats_markdown(rows)
    assert "| test | 2 |" in table and "| val | 1 |" in table
    assert "| train |" not in table


def test_stats_give_each_synthesis_mode_its_severity_and_jod(tmp_path):
    """A ghosting mode drawn only faint must show as such, not vanish into the class's pooled figures."""
    import numpy as np
    from PIL import Image

    from ipad_iqa.cli.show_benchmark import stats_markdown
    from ipad_iqa.data.benchmark import ManifestRow

    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(mask)

    def row(i: int, mode: str, severity: float, jod: float) -> ManifestRow:
        return ManifestRow(key=f"images/test/ghosting/{i}.png", image=tmp_path / f"{i}.png", mask=mask,
                           label="ghosting", split="test", source=f"p{i}", severity=severity, jod=jod,
                           params={"mode": mode}, reference=None)

    table = stats_markdown([row(0, "fusion", 0.1, 9.5), row(1, "motion", 0.9, 7.7), row(2, "fusion", 0.2, 9.2)])
    modes = table.split("Per synthesis mode:")[1]
    assert "| ghosting | fusion | 2 | 0.15 | 2 | 0 | 0 | 9.20 | 9.35 | 9.50 |" in modes
    assert "| ghosting | motion | 1 | 0.90 | 0 | 0 | 1 | 7.70 | 7.70 | 7.70 |" in modes
