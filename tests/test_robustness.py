"""Bad and unusual input end to end: through ``pyiqa.create_metric`` and through ``ipad-iqa score``.

tests/test_io.py checks the loader and the validator on their own; here the same battery goes through the
public entry points, with the real (tiny) model behind them. Every input gets a correct result or an error
that names the problem; the CLI writes the error in its ``error`` column and carries on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import ipad_iqa  # noqa: F401  (registers the metrics)
from ipad_iqa.cli.main import main as cli_main
from ipad_iqa.io import InvalidInputError, load_image

METRIC = "ipad_clip_test"


@pytest.fixture(scope="module")
def metric():
    return pyiqa.create_metric(METRIC, device="cpu")


def _rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


# ------------------------------------------------------------------ tensors through pyiqa

# pyiqa's own input checks run before ours (rank, channels, range), so either message may come first;
# each pattern accepts only messages that name the actual problem.
BAD_TENSORS = {
    "nan": (lambda: torch.full((1, 3, 64, 64), float("nan")), r"(?i)\bnan\b"),
    "inf": (lambda: _rand(1, 3, 64, 64).index_fill_(2, torch.tensor([5]), float("inf")), r"(?i)\binf\b"),
    "rank 2": (lambda: _rand(64, 64), r"4D tensor|expected shape"),
    "rank 3": (lambda: _rand(3, 64, 64), r"4D tensor|expected shape"),
    "rank 5": (lambda: _rand(1, 1, 3, 64, 64), r"4D tensor|expected shape"),
    "4 channels": (lambda: _rand(1, 4, 64, 64), r"RGB or gray|got 4"),
    "2 channels": (lambda: _rand(1, 2, 64, 64), r"RGB or gray|got 2"),
    "above 1": (lambda: _rand(1, 3, 64, 64) * 255, r"\[0, 1\]"),
    "below 0": (lambda: _rand(1, 3, 64, 64) - 0.5, r"\[0, 1\]"),
    "uint8 0..255": (lambda: (_rand(1, 3, 64, 64) * 255).to(torch.uint8), r"\[0, 1\]|dtype"),
    "int64 in range": (lambda: torch.ones(1, 3, 64, 64, dtype=torch.int64), r"dtype torch\.int64"),
    "bool": (lambda: torch.ones(1, 3, 64, 64, dtype=torch.bool), r"dtype torch\.bool"),
    "1x1": (lambda: _rand(1, 3, 1, 1), r"1x1 .*minimum is 32x32"),
    "31x31": (lambda: _rand(1, 3, 31, 31), r"31x31 .*minimum is 32x32"),
    "meta device": (lambda: torch.empty(1, 3, 64, 64, device="meta"), r"meta"),
}


@pytest.mark.parametrize("check_range", [True, False], ids=["pyiqa-range-check", "no-range-check"])
@pytest.mark.parametrize("case", list(BAD_TENSORS))
def test_bad_tensor_through_pyiqa_is_named(case: str, check_range: bool, metric) -> None:
    make, pattern = BAD_TENSORS[case]
    m = metric if check_range else pyiqa.create_metric(METRIC, device="cpu", check_input_range=False)
    with pytest.raises((ValueError, AssertionError, RuntimeError, NotImplementedError), match=pattern):
        m(make())


def test_our_messages_behind_pyiqa(metric) -> None:
    """The adapter pyiqa builds (``metric.net``) validates on its own, with our messages and exception type."""
    for case in ("nan", "4 channels", "above 1", "int64 in range", "31x31", "meta device"):
        make, pattern = BAD_TENSORS[case]
        with pytest.raises(InvalidInputError, match=pattern):
            metric.net(make())


def test_unusual_but_valid_tensors_give_the_same_result(metric) -> None:
    x = _rand(1, 3, 70, 90, seed=1)
    ref = metric(x, return_maps=True)
    same = {
        "float64": x.double(),
        "gray 1 channel": x[:, :1],  # compared with its own RGB repetition below
        "requires_grad": x.clone().requires_grad_(True),
    }
    for name, value in same.items():
        out = metric(value, return_maps=True)
        expected = metric(value[:, :1].expand(-1, 3, -1, -1).contiguous(), return_maps=True) if "gray" in name \
            else ref
        for a, b in zip(out, expected, strict=True):
            assert torch.equal(a.detach(), b), name
    half = (x * 0.98).half()  # pyiqa's own range check rejects fp16 tensors holding 1.0 (its epsilon rounds away)
    for a, b in zip(metric(half, return_maps=True), metric(half.float(), return_maps=True), strict=True):
        assert torch.equal(a, b)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    for a, b in zip(metric(channels_last, return_maps=True), ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_minimum_size_scores(metric) -> None:
    out = metric(_rand(1, 3, 32, 32), return_maps=True)
    assert out.maps.shape == (1, 3, 32, 32) and 0 <= float(out.score) <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a second device (CUDA)")
def test_tensor_on_another_device_is_moved(metric) -> None:
    x = _rand(1, 3, 64, 80)
    expected = metric(x)
    torch.testing.assert_close(metric(x.cuda()), expected)  # pyiqa moves it
    torch.testing.assert_close(metric.net(x.cuda()), expected)  # and so does the model itself
    gpu = pyiqa.create_metric(METRIC, device="cuda")
    torch.testing.assert_close(gpu.net(x).cpu(), expected, atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------ bounded memory on a large image


class NewLargeTensors(TorchDispatchMode):
    """Records every aten op that allocates a new tensor of at least ``numel`` elements (views excluded)."""

    def __init__(self, numel: int):
        super().__init__()
        self.numel = numel
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        for t in tree_leaves(out):
            if (isinstance(t, torch.Tensor) and t.numel() >= self.numel
                    and t.untyped_storage().data_ptr() not in inputs):
                self.ops.append(str(func))
        return out


def test_large_image_tiles_without_full_resolution_copies(metric) -> None:
    """Stand-in for 10000x8000 (benchmarks/memory.py measures that one): 1600x1200 is ~900 tiles of the tiny
    model. The only tensor as large as one full-resolution channel that is ever created is the output maps;
    a score alone creates none. So memory is the input, the maps and a bounded working set."""
    h, w = 1200, 1600
    x = _rand(1, 3, h, w, seed=3)
    with NewLargeTensors(h * w) as record:
        out = metric(x, return_maps=True)
    assert record.ops == ["aten.upsample_bilinear2d.default"]
    assert out.maps.shape == (1, 3, h, w)
    assert torch.isfinite(out.maps).all() and 0 <= float(out.maps.min()) and float(out.maps.max()) <= 1
    with NewLargeTensors(h * w) as record:
        score = metric(x)
    assert record.ops == []
    assert torch.equal(score, out.score)
    with NewLargeTensors(h * w) as record:  # maps drawn at a display size: no full-resolution tensor at all
        small = metric(x, return_maps=True, maps_size=(300, 400))
    assert record.ops == [] and small.maps.shape == (1, 3, 300, 400)


# ------------------------------------------------------------------ the CLI on a folder of bad files


def _save(img: Image.Image, path: Path, **kwargs: object) -> Path:
    img.save(path, **kwargs)
    return path


def _photo(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = (np.sin(xx / 7.0 + seed) + np.cos(yy / 5.0)) * 60 + 128
    noise = rng.integers(-20, 20, (height, width, 3))
    return np.clip(base[..., None] + noise, 0, 255).astype(np.uint8)


def _bad_folder(root: Path) -> dict[str, str | None]:
    """Every file of the battery, with the error each must give (None: it must be scored).

    Images that need a conversion get a ``twin`` saved as plain 8-bit RGB PNG of what the conversion must
    produce, so that the CLI's two rows can be compared exactly.
    """
    root.mkdir()
    (root / "zero_byte.png").touch()
    full = _save(Image.fromarray(_photo(96, 80, 0)), root / "full.jpg", quality=90)
    (root / "truncated.jpg").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    full.unlink()
    (root / "text.png").write_text("not a picture\n")
    _save(Image.fromarray(_photo(72, 64, 1)[..., 0].astype(np.uint16) * 257), root / "deep16.png")
    _save(Image.fromarray(_photo(72, 64, 2)).convert("CMYK"), root / "cmyk.jpg", quality=95)

    alpha = np.where(np.arange(80) < 40, 255, 0).astype(np.uint8)[None].repeat(64, 0)
    rgba = np.dstack([_photo(80, 64, 3), alpha])
    _save(Image.fromarray(rgba), root / "rgba.png")
    white = rgba[..., :3].copy()
    white[rgba[..., 3] == 0] = 255  # fully transparent -> white, opaque unchanged
    _save(Image.fromarray(white), root / "rgba_twin.png")

    pal = Image.frombytes("P", (64, 64), (np.arange(64 * 64) % 4).astype(np.uint8).tobytes())
    pal.putpalette([0, 0, 0, 250, 10, 10, 10, 250, 10, 10, 10, 250] + [0] * (256 * 3 - 12))
    _save(pal, root / "palette.png", transparency=0)
    colors = np.array([[255, 255, 255], [250, 10, 10], [10, 250, 10], [10, 10, 250]], np.uint8)
    _save(Image.fromarray(colors[np.asarray(pal)]), root / "palette_twin.png")

    gray = _photo(64, 48, 4)[..., 1]
    _save(Image.fromarray(gray), root / "gray.png")
    _save(Image.fromarray(np.repeat(gray[..., None], 3, axis=2)), root / "gray_twin.png")

    upright = _photo(64, 96, 5)  # 64 wide, 96 high as displayed
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright, k=1)))  # what a sideways camera writes
    exif = stored.getexif()
    exif[0x0112] = 6  # display = stored rotated 90 degrees clockwise
    _save(stored, root / "exif_rotated.png", exif=exif)
    _save(Image.fromarray(upright), root / "exif_rotated_twin.png")
    _save(stored, root / "exif_rotated.jpg", exif=exif, quality=92)

    _save(Image.new("RGB", (1, 1), (9, 9, 9)), root / "one_pixel.png")
    _save(Image.fromarray(_photo(31, 31, 6)), root / "side31.png")
    _save(Image.fromarray(_photo(32, 32, 7)), root / "side32.png")
    _save(Image.fromarray(_photo(400, 250, 8)), root / "tiled.png")  # many 64-px tiles of the tiny model
    return {
        "zero_byte.png": "empty file", "truncated.jpg": "truncated or corrupt image data",
        "text.png": "not an image", "one_pixel.png": "image is 1x1; the minimum is 32x32",
        "side31.png": "image is 31x31; the minimum is 32x32",
        **{p.name: None for p in root.iterdir() if p.name not in
           {"zero_byte.png", "truncated.jpg", "text.png", "one_pixel.png", "side31.png"}},
    }


def _cli(argv: list[str], out: Path) -> tuple[int, dict[str, dict]]:
    code = cli_main(["score", *argv, "--metric", METRIC, "--device", "cpu", "--out", str(out)])
    return code, {Path(r["path"]).name: r for r in json.loads(out.read_text())}


def test_cli_on_a_folder_of_every_bad_file(tmp_path: Path) -> None:
    expected = _bad_folder(tmp_path / "bad")
    missing = tmp_path / "missing.png"
    code, rows = _cli([str(tmp_path / "bad"), str(missing), "--maps-dir", str(tmp_path / "maps")],
                      tmp_path / "res.json")
    assert code == 3  # some inputs failed, the others were scored
    assert set(rows) == {*expected, "missing.png"}
    assert rows["missing.png"]["error"] == "no such file or folder"
    for name, error in expected.items():
        row = rows[name]
        if error is None:
            assert row["error"] == "", (name, row["error"])
            assert all(0.0 <= row[k] <= 1.0 for k in ("score", *ipad_iqa.ARTIFACT_CLASSES)), name
        else:
            assert error in row["error"], (name, row["error"])
            assert row["score"] is None and str(tmp_path) not in row["error"]  # the path has its own column
    for name in ("rgba", "palette", "gray", "exif_rotated"):  # conversions as documented, exactly
        a, b = rows[f"{name}.png"], rows[f"{name}_twin.png"]
        assert [a[k] for k in ("score", *ipad_iqa.ARTIFACT_CLASSES)] == \
            [b[k] for k in ("score", *ipad_iqa.ARTIFACT_CLASSES)], name
    overlays = {p.name for p in (tmp_path / "maps").iterdir()}
    assert overlays == {f"bad__{n}.overlay.png" for n, e in expected.items() if e is None}
    rotated, twin = (Image.open(tmp_path / "maps" / f"bad__{n}.overlay.png").size
                     for n in ("exif_rotated.jpg", "exif_rotated_twin.png"))
    assert rotated == twin  # the overlay is drawn upright, as the photo is displayed


def test_cli_results_do_not_depend_on_batch_or_run(tmp_path: Path, metric) -> None:
    """Same file, same numbers: alone, in a batch of equal sizes, in a second run, and through the library."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        _save(Image.fromarray(_photo(120, 90, 10 + i)), folder / f"img{i}.png")
    _save(Image.fromarray(_photo(90, 120, 20)), folder / "other_size.png")
    runs = [_cli([str(folder), "--batch-size", bs], tmp_path / f"run{k}.json")[1]
            for k, bs in enumerate(["1", "4", "4"])]
    alone = _cli([str(folder / "img2.png")], tmp_path / "alone.json")[1]
    assert runs[0] == runs[1] == runs[2]
    assert alone["img2.png"] == runs[1]["img2.png"]
    library = metric(load_image(folder / "img2.png")[None], return_maps=True)
    assert runs[1]["img2.png"]["score"] == float(library.score)
    assert [runs[1]["img2.png"][k] for k in ipad_iqa.ARTIFACT_CLASSES] == library.class_probs[0].tolist()
