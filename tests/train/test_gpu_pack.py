"""gpu/: the pack that travels to a lent GPU machine, and the script that trains the recipe there (run on the CPU)."""

from __future__ import annotations

import os
import re
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


def _name(split: str, suffix: str, skip: int = 0) -> str:
    return [f"p{i}{suffix}" for i in range(1000) if split_of(f"p{i}{suffix}") == split][skip]


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    """A big JPEG (short side over what a canvas needs) and small PNGs in train and val, one photo in test."""
    import skimage.data as sd

    root = tmp_path_factory.mktemp("pool")
    big = Image.fromarray(sd.astronaut()).resize((700, 600))
    big.save(root / _name("train", ".jpg"), quality=90)
    Image.fromarray(sd.coffee()).resize((200, 160)).save(root / _name("train", ".png"))
    Image.fromarray(sd.chelsea()).resize((180, 160)).save(root / _name("train", ".png", 1))
    Image.fromarray(sd.rocket()).resize((160, 170)).save(root / _name("val", ".png"))
    Image.fromarray(sd.retina()).resize((160, 160)).save(root / _name("test", ".png"))
    return root


def test_pack_keeps_names_and_pixels_and_shrinks_only_what_no_canvas_needs(pool: Path, tmp_path: Path) -> None:
    copied, shrunk = pack.pack_photos(pool, tmp_path)
    assert (copied, shrunk) == (3, 1)
    packed = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert packed == {p.name for p in pool.iterdir() if split_of(p.name) in pack.SPLITS}  # the test split stays
    big = tmp_path / _name("train", ".jpg")
    assert min(Image.open(big).size) == pack.MAX_SHORT
    for name in packed - {big.name}:
        np.testing.assert_array_equal(load_photo(tmp_path / name), load_photo(pool / name))


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
    assert [row.split(",")[0] for row in (out / "val.csv").read_text().splitlines()] == ["step", "0", "1"]
    meta = read_metadata(out / "best.safetensors")
    assert meta["variant"] == "ipad_clip" and meta["config"]["data"]["shards"] == str(tmp_path / "work/shards/train")
