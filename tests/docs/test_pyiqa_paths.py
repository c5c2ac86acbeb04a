"""The table "Paths or tensors" of docs/pyiqa.md, checked against the installed pyiqa and our loader.

pyiqa reads a path with ``pyiqa.utils.img_util.imread2tensor(path, rgb=True)`` (what ``InferenceModel`` calls);
if a pyiqa release changes that, these tests say which row of the page is no longer true.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ipad_iqa.io import load_image

imread2tensor = pytest.importorskip("pyiqa.utils.img_util").imread2tensor


def test_plain_rgb_jpeg_reads_identically(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "plain.jpg"
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path, quality=90)
    assert torch.equal(imread2tensor(str(path), rgb=True), load_image(path))


def test_exif_orientation_ignored_by_pyiqa_applied_by_us(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = Image.new("RGB", (64, 40))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    image.save(path, exif=exif)
    assert tuple(imread2tensor(str(path), rgb=True).shape) == (3, 40, 64)
    assert tuple(load_image(path).shape) == (3, 64, 40)


def test_transparency_dropped_by_pyiqa_composited_on_white_by_us(tmp_path):
    rgba = np.zeros((40, 64, 4), np.uint8)
    rgba[..., 0] = 200  # a colour hidden under full transparency on the left half
    rgba[:, 32:, 3] = 255
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    theirs, ours = imread2tensor(str(path), rgb=True), load_image(path)
    assert torch.allclose(theirs[:, 0, 0], torch.tensor([200 / 255, 0.0, 0.0]))
    assert torch.equal(ours[:, 0, 0], torch.ones(3))


def test_sixteen_bit_clipped_by_pyiqa_scaled_by_us(tmp_path):
    path = tmp_path / "grey16.png"
    Image.fromarray(np.full((40, 64), 32768, np.uint16)).save(path)
    assert float(imread2tensor(str(path), rgb=True).min()) == 1.0
    assert float(load_image(path).max()) == pytest.approx(32768 / 65535)


def test_pathlib_refused_by_pyiqa_accepted_by_us(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (64, 40)).save(path)
    with pytest.raises(Exception, match="Unsupported source type"):
        imread2tensor(path, rgb=True)
    assert tuple(load_image(path).shape) == (3, 40, 64)


def test_truncated_file_raises_pil_error_through_pyiqa_ours_names_it(tmp_path):
    from ipad_iqa.io import ImageLoadError

    path = tmp_path / "cut.jpg"
    Image.new("RGB", (64, 64), (90, 20, 20)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(OSError):  # PIL's own
        imread2tensor(str(path), rgb=True)
    with pytest.raises(ImageLoadError, match="cut.jpg"):
        load_image(path)


def test_tiny_image_read_by_pyiqa_then_refused_by_size(tmp_path):
    import pyiqa

    import ipad_iqa  # noqa: F401  (registers the metrics)
    from ipad_iqa.io import ImageLoadError, InvalidInputError

    path = tmp_path / "tiny.png"
    Image.new("RGB", (10, 10)).save(path)
    metric = pyiqa.create_metric("ipad_clip", device="cpu")
    with pytest.raises(InvalidInputError, match="10x10"):
        metric(str(path))
    with pytest.raises(ImageLoadError, match="tiny.png.*10x10"):
        load_image(path)
