"""IPAD-Synth v2 training shards: round trips, disjoint parallel writers, and the views read from them."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipad_iqa.data.benchmark import _png
from ipad_iqa.data.shards import (
    ShardDataset,
    ShardDatasetConfig,
    _tar_bytes,
    index_shards,
    shard_paths,
    write_shards,
)

pytest.importorskip("pycvvdp")


@pytest.fixture(scope="module")
def serial(photo_pool: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    write_shards(out, photo_pool, n=6, seed=1, size=96, shard_size=2, progress=False)
    return out


def test_parallel_shards_union_is_byte_identical_to_serial(photo_pool: Path, serial: Path, tmp_path: Path,
                                                           file_digests) -> None:
    for i in range(2):
        write_shards(tmp_path, photo_pool, n=6, seed=1, size=96, shard_size=2, shard_index=i, num_shards=2,
                     progress=False)
    assert file_digests(tmp_path) == file_digests(serial)
    assert len(list(tmp_path.glob("shard-*.tar"))) == 3


def test_round_trip(serial: Path) -> None:
    records, failed = index_shards(shard_paths(serial))
    assert len(records) + len(failed) == 6
    with tarfile.open(shard_paths(serial)[0]) as tar:
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in tar)
    for rec in records:
        assert rec.meta["label"] in ("clean", "ghosting", "flare", "moire")
        if rec.meta["label"] == "clean":
            assert rec.meta["jod"] == 10.0
        else:
            assert rec.meta["jod"] < 10.0 and 0.0 <= rec.meta["severity"] <= 1.0


def test_members_are_a_raw_uint8_image_and_a_three_level_png_mask(serial: Path) -> None:
    with tarfile.open(shard_paths(serial)[0]) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar}
    keys = {name.split(".")[0] for name in files if name.endswith(".npy")}
    assert keys
    for key in keys:
        image = np.load(io.BytesIO(files[f"{key}.npy"]), allow_pickle=False)
        mask = np.asarray(Image.open(io.BytesIO(files[f"{key}.mask.png"])))
        assert image.dtype == np.uint8 and image.shape == (96, 96, 3)
        assert mask.shape == (96, 96) and set(np.unique(mask)) <= {0, 128, 255}


def test_shards_with_png_images_read_the_same_views(serial: Path, tmp_path: Path) -> None:
    """Shards written before the .npy format (images as KEY.png) give the same training views."""
    for path in shard_paths(serial):
        with tarfile.open(path) as tar:
            members = [(m.name, tar.extractfile(m).read()) for m in tar]
        old = [(name[:-4] + ".png", _png(np.load(io.BytesIO(data)))) if name.endswith(".npy") else (name, data)
               for name, data in members]
        (tmp_path / path.name).write_bytes(_tar_bytes(old))
    config = ShardDatasetConfig(crop_size=64, views_per_canvas=2)
    new, png = ShardDataset(serial, config), ShardDataset(tmp_path, config)
    assert {r.image_format for r in png.records} == {"png"} and {r.image_format for r in new.records} == {"npy"}
    assert len(new) == len(png)
    for i in range(len(new)):
        a, b = new[i], png[i]
        assert all(np.array_equal(a[k], b[k]) for k in ("image", "masks", "valid", "label"))


def test_rerun_keeps_shards_and_a_different_spec_is_refused(photo_pool: Path, serial: Path, file_digests) -> None:
    before = file_digests(serial)
    summary = write_shards(serial, photo_pool, n=6, seed=1, size=96, shard_size=2, progress=False)
    assert "wrote 0 shard(s)" in summary
    assert file_digests(serial) == before
    with pytest.raises(FileExistsError, match="another spec"):
        write_shards(serial, photo_pool, n=6, seed=2, size=96, shard_size=2, progress=False)


def test_views_are_deterministic_crops_with_the_ignore_band(serial: Path) -> None:
    ds = ShardDataset(serial, ShardDatasetConfig(crop_size=64, views_per_canvas=3))
    assert len(ds) == 3 * len(ds.records)
    a, b = ds[4], ds[4]
    assert all(np.array_equal(a[k], b[k]) for k in ("image", "masks", "valid"))
    for i in range(len(ds)):
        item = ds[i]
        assert item["image"].shape == (3, 64, 64) and item["valid"].shape == (64, 64)
        label = int(item["label"])
        assert -1 <= label <= 3
        if label <= 0:
            assert item["masks"].sum() == 0
        else:
            assert item["masks"][label - 1].sum() >= ds.config.min_visible_pixels
            assert (item["masks"][label - 1] * (1 - item["valid"])).sum() == 0  # visible pixels are valid


def test_crop_larger_than_canvas_is_refused(serial: Path) -> None:
    with pytest.raises(ValueError, match="exceeds"):
        ShardDataset(serial, ShardDatasetConfig(crop_size=128))


def test_ghosting_modes_set_the_mix_and_are_recorded_only_when_changed(photo_pool: Path, serial: Path,
                                                                       tmp_path: Path) -> None:
    """Motion alone: every ghosting canvas is a motion ghost, and spec.json says so; v2's mix stays unrecorded, so
    shards written before the option existed still verify."""
    write_shards(tmp_path, photo_pool, n=8, seed=1, size=96, shard_size=4, progress=False,
                 ghosting_modes=(1, 0, 0, 0))
    records, _ = index_shards(shard_paths(tmp_path))
    modes = [r.meta["params"]["mode"] for r in records if r.meta["label"] == "ghosting"]
    assert modes and set(modes) == {"motion"}
    assert json.loads((tmp_path / "spec.json").read_text())["ghosting_modes"] == [1, 0, 0, 0]
    assert "ghosting_modes" not in json.loads((serial / "spec.json").read_text())
    summary = write_shards(serial, photo_pool, n=6, seed=1, size=96, shard_size=2, progress=False,
                           ghosting_modes=(0.35, 0.15, 0.15, 0.35))  # v2's mix, given: the same spec
    assert "wrote 0 shard(s)" in summary


@pytest.mark.parametrize("modes", [(1, 0, 0), (-1, 1, 1, 1), (0, 0, 0, 0)])
def test_bad_ghosting_modes_are_refused_naming_them(photo_pool: Path, tmp_path: Path, modes: tuple) -> None:
    with pytest.raises(ValueError, match="ghosting mode probabilities"):
        write_shards(tmp_path, photo_pool, n=2, seed=1, size=96, progress=False, ghosting_modes=modes)
    assert not (tmp_path / "spec.json").exists()
    # before the photo pool is read: a folder that does not exist is not what the error is about
    with pytest.raises(ValueError, match="ghosting mode probabilities"):
        write_shards(tmp_path, tmp_path / "no_photos", n=2, seed=1, size=96, progress=False, ghosting_modes=modes)
