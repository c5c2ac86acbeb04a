"""gpu/: the pack that travels to a lent GPU machine, and the script that trains the recipe there (run on the CPU)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipad_iqa.data.pipeline import load_photo
from ipad_iqa.data.splits import split_of
from ipad_iqa.weights import read_metadata

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "gpu"))
import pack  # noqa: E402


def _name(split: str, suffix: str, skip: int = 0, folder: str = "") -> str:
    """A file name under ``folder`` whose relative path falls in ``split`` (split_of hashes that path)."""
    return [f"{folder}p{i}{suffix}" for i in range(1000) if split_of(f"{folder}p{i}{suffix}") == split][skip]


def _rotated_jpeg(path: Path, image: np.ndarray) -> None:
    """A JPEG stored on its side with an EXIF orientation (6: turn 90 degrees clockwise to view), as phones write."""
    exif = Image.Exif()
    exif[0x0112] = 6
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=90, exif=exif)


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    """Big JPEGs (short side over what a canvas needs; one on its side, in a subfolder) and small photos in train
    and val (one a JPEG on its side), one photo in test."""
    import skimage.data as sd

    root = tmp_path_factory.mktemp("pool")
    Image.fromarray(sd.astronaut()).resize((700, 600)).save(root / _name("train", ".jpg"), quality=90)
    _rotated_jpeg(root / _name("val", ".jpg", folder="phone/"), np.asarray(Image.fromarray(sd.coffee()).resize((720, 600))))
    _rotated_jpeg(root / _name("train", ".jpg", folder="phone/"), np.asarray(Image.fromarray(sd.rocket()).resize((200, 160))))
    Image.fromarray(sd.chelsea()).resize((180, 160)).save(root / _name("train", ".png"))
    Image.fromarray(sd.rocket()).resize((160, 170)).save(root / _name("val", ".png"))
    Image.fromarray(sd.retina()).resize((160, 160)).save(root / _name("test", ".png"))
    return root


def test_pack_keeps_names_and_pixels_and_shrinks_only_what_no_canvas_needs(pool: Path, tmp_path: Path) -> None:
    copied, psnr = pack.pack_photos(pool, tmp_path)
    assert copied == 3 and len(psnr) == 2 and min(psnr) > 30
    names = {p.relative_to(pool).as_posix() for p in pool.rglob("*") if p.is_file()}
    packed = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert packed == {n for n in names if split_of(n) in pack.SPLITS}  # same paths; the test split stays behind
    for name in packed:
        original, copy = load_photo(pool / name), load_photo(tmp_path / name)
        if min(original.shape[:2]) <= pack.MAX_SHORT:
            np.testing.assert_array_equal(copy, original)  # a copy, EXIF orientation and all
        else:  # shrunk as viewed (upright), to the short side a canvas may need, the same picture
            assert min(copy.shape[:2]) == pack.MAX_SHORT
            assert (copy.shape[0] > copy.shape[1]) == (original.shape[0] > original.shape[1])
            small = np.asarray(Image.fromarray(np.uint8(original * 255)).resize(copy.shape[1::-1])) / 255
            assert np.abs(copy - small).mean() < 0.02


def test_pack_refuses_a_pool_without_training_photos(tmp_path: Path) -> None:
    Image.new("RGB", (64, 64)).save(tmp_path / _name("test", ".png"))
    with pytest.raises(ValueError, match="no train or val-split photos"):
        pack.pack_photos(tmp_path, tmp_path / "out")


def test_travel_counts_the_working_tree_and_the_pack(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"0" * 1000)
    sizes = pack.travel_bytes(REPO, tmp_path)
    assert sizes["pack"] == 1000
    assert sizes["total"] == sizes["working tree"] + 1000 > 1000


def test_script_writes_the_shards_of_the_makefile_spec() -> None:
    """gpu/train.sh has no venv to run make in, so it repeats the `shards` target's spec: keep the two equal."""
    make = re.findall(r"--out \$\(SHARDS\)/(train|val) (?:--split val )?--n (\d+) --seed (\d+)",
                      (REPO / "Makefile").read_text())
    script = (REPO / "gpu" / "train.sh").read_text().replace("\\\n", " ")
    defaults = dict(re.findall(r"^(N|VAL_N)=\$\{\1:-(\d+)\}", script, re.M))
    runs = re.findall(r'shards/(train|val)" +(?:--split val +)?--n "\$(\w+)" --seed (\d+)', script)
    assert [split for split, *_ in make] == ["train", "val"]
    assert [(split, defaults[var], seed) for split, var, seed in runs] == make


def test_script_trains_the_recipe_from_a_pack(pool: Path, tmp_path: Path) -> None:
    pack.pack_photos(pool, tmp_path / "pack" / "photos")
    env = {**os.environ, "PACK": str(tmp_path / "pack"), "DEVICE": "cpu", "N": "2", "VAL_N": "2", "STEPS": "1",
           "WORKERS": "1", "WORK": str(tmp_path / "work"), "OUT": str(tmp_path / "out"), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(REPO / "gpu" / "train.sh")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "out"
    assert [line.split()[0] for line in (out / "times.txt").read_text().splitlines()] == [
        "packages", "train_shards", "val_shards", "train"]
    assert [row.split(",")[0] for row in (out / "run" / "val.csv").read_text().splitlines()] == ["step", "0", "1"]
    meta = read_metadata(out / "run" / "last.safetensors")
    assert meta["variant"] == "ipad_clip" and meta["config"]["data"]["shards"] == str(tmp_path / "work/shards/train")


def test_pack_never_deletes_a_folder_it_did_not_write(pool: Path) -> None:
    folder = REPO / "runs" / f"pack-test-{os.getpid()}"  # ignored by git, as a pack must be
    folder.mkdir(parents=True)
    try:
        (folder / "keep.txt").write_text("a user's file")
        with pytest.raises(SystemExit):
            pack.main(["--clean-dir", str(pool), "--out", str(folder), "--no-packages"])
        assert (folder / "keep.txt").read_text() == "a user's file"
        with pytest.raises(SystemExit):  # tracked, not ignored: would travel twice
            pack.main(["--clean-dir", str(pool), "--out", "gpu", "--no-packages"])
    finally:
        shutil.rmtree(folder)
