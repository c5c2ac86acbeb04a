"""Loading, validation and input expansion: every bad input must fail with a message that names it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ipad_iqa.io import (
    MIN_SIDE,
    ImageLoadError,
    InvalidInputError,
    expand_inputs,
    load_image,
    read_size,
    validate_batch,
)


def _save(img: Image.Image, path: Path, **kwargs: object) -> Path:
    img.save(path, **kwargs)
    return path


# ---------------------------------------------------------------- bad files


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(ImageLoadError, match=r"empty\.png: empty file"):
        load_image(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match=r"nope\.jpg: no such file or folder"):
        load_image(tmp_path / "nope.jpg")


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("definitely not a PNG\n")
    with pytest.raises(ImageLoadError, match=r"notes\.png: not an image \(cannot identify format\)"):
        load_image(path)


def test_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "data.xyz"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ImageLoadError, match="cannot identify format"):
        load_image(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    full = _save(Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)), tmp_path / "full.jpg")
    path = tmp_path / "cut.jpg"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ImageLoadError, match=r"cut\.jpg: truncated or corrupt image data"):
        load_image(path)


def test_load_error_is_value_error() -> None:
    assert issubclass(ImageLoadError, ValueError)
    assert issubclass(InvalidInputError, ValueError)


# ---------------------------------------------------------------- modes


def test_rgb_values_and_layout(tmp_path: Path) -> None:
    array = np.zeros((40, 50, 3), dtype=np.uint8)
    array[..., 0] = 255
    array[5, 7] = (10, 20, 30)
    x = load_image(_save(Image.fromarray(array), tmp_path / "rgb.png"))
    assert x.shape == (3, 40, 50) and x.dtype == torch.float32
    assert torch.allclose(x[:, 5, 7], torch.tensor([10, 20, 30]) / 255.0)
    assert torch.allclose(x[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))


def test_grayscale_becomes_rgb(tmp_path: Path) -> None:
    x = load_image(_save(Image.new("L", (40, 36), 51), tmp_path / "gray.png"))
    assert x.shape == (3, 36, 40)
    assert torch.allclose(x, torch.full_like(x, 0.2))


def test_16bit_png_keeps_precision(tmp_path: Path) -> None:
    array = (np.arange(48 * 40).reshape(40, 48) * 31).astype(np.uint16)
    path = _save(Image.fromarray(array), tmp_path / "deep.png")
    assert Image.open(path).mode.startswith("I")
    x = load_image(path)
    assert x.shape == (3, 40, 48)
    expected = torch.from_numpy(array.astype(np.float32) / 65535.0)
    assert torch.allclose(x[1], expected, atol=1e-6)
    assert float(x.max()) > 0.9  # not clipped to 8 bits nor left in 0..65535


def test_cmyk_jpeg_to_rgb(tmp_path: Path) -> None:
    path = _save(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(path).mode == "CMYK"
    x = load_image(path)
    assert x.shape == (3, 40, 40)
    assert torch.allclose(x[:, 20, 20], torch.tensor([1.0, 0.0, 0.0]), atol=0.05)


def test_rgba_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))  # fully transparent black
    img.putpixel((1, 1), (0, 0, 255, 255))  # one opaque blue pixel
    img.putpixel((2, 2), (0, 0, 0, 128))  # half-transparent black
    x = load_image(_save(img, tmp_path / "rgba.png"))
    assert torch.allclose(x[:, 0, 0], torch.ones(3))
    assert torch.allclose(x[:, 1, 1], torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(x[:, 2, 2], torch.full((3,), 127 / 255), atol=2 / 255)


def test_la_composited_on_white(tmp_path: Path) -> None:
    x = load_image(_save(Image.new("LA", (40, 40), (0, 0)), tmp_path / "la.png"))
    assert torch.allclose(x, torch.ones_like(x))


def test_palette_with_transparency_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    img.putpixel((3, 4), 1)
    x = load_image(_save(img, tmp_path / "pal.png", transparency=0))
    assert torch.allclose(x[:, 0, 0], torch.ones(3))  # transparent index 0 -> white, not black
    assert torch.allclose(x[:, 4, 3], torch.tensor([0.0, 1.0, 0.0]))


def test_palette_without_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (40, 40), 1)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    x = load_image(_save(img, tmp_path / "pal.gif"))
    assert torch.allclose(x[:, 0, 0], torch.tensor([0.0, 0.0, 1.0]))


def test_exif_orientation_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (64, 40), (0, 0, 0))
    img.paste((255, 0, 0), (0, 0, 16, 16))  # red block at the stored top-left
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = _save(img, tmp_path / "rotated.jpg", exif=exif, quality=95)
    x = load_image(path)
    assert x.shape == (3, 64, 40)  # width and height swapped
    assert read_size(path) == (64, 40)
    assert torch.allclose(x[:, 4, -5], torch.tensor([1.0, 0.0, 0.0]), atol=0.08)  # now at the top-right
    assert float(x[0, 4, 4]) < 0.1


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize("side", [1, MIN_SIDE - 1])
def test_too_small_image(tmp_path: Path, side: int) -> None:
    path = _save(Image.new("RGB", (side, side)), tmp_path / f"tiny{side}.png")
    with pytest.raises(ImageLoadError, match=rf"tiny{side}\.png: image is {side}x{side}; the minimum is 32x32"):
        load_image(path)


def test_thin_image_too_small(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="minimum is 32x32"):
        load_image(_save(Image.new("RGB", (500, 31)), tmp_path / "thin.png"))


def test_minimum_size_loads(tmp_path: Path) -> None:
    assert load_image(_save(Image.new("RGB", (MIN_SIDE, MIN_SIDE)), tmp_path / "ok.png")).shape == (3, 32, 32)


def test_above_pil_bomb_limit_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PIL's own limit (here shrunk to stand for 89.5 MP) does not apply: our bound replaces it."""
    path = _save(Image.new("RGB", (200, 100), (9, 9, 9)), tmp_path / "wide.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(path)
    assert load_image(path).shape == (3, 100, 200)
    assert Image.MAX_IMAGE_PIXELS == 1000  # the global is restored


def test_above_our_bound_fails_clearly(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (200, 100)), tmp_path / "wide.png")
    with pytest.raises(ImageLoadError, match=r"wide\.png: image is 200x100 .* above the limit"):
        load_image(path, max_pixels=10_000)


# ---------------------------------------------------------------- validate_batch


def test_validate_accepts_contract_tensor() -> None:
    x = torch.rand(2, 3, 32, 40)
    assert torch.equal(validate_batch(x), x)


def test_validate_adds_batch_dim_and_repeats_gray() -> None:
    assert validate_batch(torch.rand(3, 32, 32)).shape == (1, 3, 32, 32)
    gray = validate_batch(torch.rand(2, 1, 32, 32))
    assert gray.shape == (2, 3, 32, 32) and torch.equal(gray[:, 0], gray[:, 2])


def test_validate_clamps_within_tolerance() -> None:
    x = torch.full((1, 3, 32, 32), 1 + 5e-7)
    assert float(validate_batch(x).max()) == 1.0


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ([[0.5]], "expected a torch.Tensor.*got list"),
        (np.zeros((1, 3, 32, 32)), "got ndarray"),
        (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), r"dtype torch\.uint8.*x\.float\(\) / 255"),
        (torch.zeros(3, 32), r"expected shape .* got \(3, 32\)"),
        (torch.zeros(1, 1, 3, 32, 32), r"got \(1, 1, 3, 32, 32\)"),
        (torch.zeros(0, 3, 32, 32), "empty batch"),
        (torch.zeros(1, 4, 32, 32), "got 4 in shape"),
        (torch.zeros(1, 2, 32, 32), "got 2 in shape"),
        (torch.zeros(1, 3, 31, 64), "64x31 .* minimum is 32x32"),
        (torch.full((1, 3, 32, 32), float("nan")), "3072 NaN or Inf"),
        (torch.zeros(1, 3, 32, 32).index_fill_(2, torch.tensor([0]), float("inf")), "96 NaN or Inf"),
        (torch.full((1, 3, 32, 32), 255.0), r"\[0, 1\], got min=255, max=255"),
        (torch.full((1, 3, 32, 32), -0.5), "min=-0.5"),
    ],
)
def test_validate_rejects(value: object, pattern: str) -> None:
    with pytest.raises(InvalidInputError, match=pattern):
        validate_batch(value)


@settings(max_examples=100, deadline=None, database=None)  # no .hypothesis/ folder in the repo
@given(
    # A leading 0 means "no batch dimension": the tensor is 3-D. Sides straddle MIN_SIDE.
    shape=st.tuples(
        st.integers(0, 3), st.sampled_from([3, 3, 3, 1, 1, 0, 2, 4]), st.sampled_from([32, 40, 33, 31, 1]),
        st.sampled_from([32, 37, 64, 31, 2]),
    ).map(lambda t: t if t[0] else t[1:]),
    low=st.sampled_from([0.0, 0.0, 0.25, -1e-7, -0.1]),
    high=st.sampled_from([1.0, 1.0, 0.5, 1 + 1e-7, 1.5, 255.0]),
    poison=st.sampled_from([None, None, None, None, float("nan"), float("inf"), float("-inf")]),
)
def test_validate_property(shape: tuple[int, ...], low: float, high: float, poison: float | None) -> None:
    """validate_batch either returns a contract tensor or raises InvalidInputError; which one is predictable."""
    x = torch.rand(shape) * (high - low) + low
    if poison is not None and x.numel():
        x.view(-1)[0] = poison
    batched = shape if len(shape) == 4 else (1, *shape)
    ok = (
        batched[0] > 0
        and batched[1] in (1, 3)
        and min(batched[2:]) >= MIN_SIDE
        and (poison is None or x.numel() == 0)
        and x.numel() > 0
        and float(x.min()) >= -1e-6
        and float(x.max()) <= 1 + 1e-6
    )
    if not ok:
        with pytest.raises(InvalidInputError):
            validate_batch(x)
        return
    y = validate_batch(x)
    assert y.shape == (batched[0], 3, *batched[2:])
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


# ---------------------------------------------------------------- expand_inputs


def test_expand_folder_glob_and_missing(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    for name in ["b.png", "a.JPG", "notes.txt", "sub/c.png"]:
        (folder / name).write_bytes(b"x")
    (tmp_path / "loose.webp").write_bytes(b"x")
    (tmp_path / "empty").mkdir()

    flat = expand_inputs([str(folder)], recursive=False)
    assert flat == [folder / "a.JPG", folder / "b.png"]
    assert expand_inputs([folder], recursive=True) == [folder / "a.JPG", folder / "b.png", folder / "sub/c.png"]

    items = [str(tmp_path / "missing.png"), str(tmp_path / "*.webp"), str(tmp_path / "none*.png"),
             str(tmp_path / "empty"), str(folder / "notes.txt"), str(folder / "b.png")]
    assert expand_inputs(items, recursive=False) == [
        tmp_path / "missing.png",  # kept: reported later, never dropped
        tmp_path / "loose.webp",
        tmp_path / "none*.png",  # a pattern matching nothing is kept too
        tmp_path / "empty",  # so is a folder without images
        folder / "notes.txt",  # an explicitly named file is kept whatever its extension
        folder / "b.png",
    ]


def test_folder_without_images_reported(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match=r"is a directory with no image files in it$"):
        load_image(tmp_path)
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "sub" / "a.png")
    with pytest.raises(ImageLoadError, match=r"no image files in it \(1 in its sub-folders: `ipad-iqa score "
                       r"--recursive` reads them\)"):
        load_image(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "b.png")
    with pytest.raises(ImageLoadError, match=r"is a directory \(1 image file in it\), not an image file$"):
        load_image(tmp_path)
