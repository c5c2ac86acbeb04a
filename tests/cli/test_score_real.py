"""The real ``ipad_clip`` metric through the public entry point (needs ``import ipad_iqa`` to register it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from ipad_iqa.cli.main import main


def test_score_with_registered_ipad_clip(tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    Image.new("RGB", (96, 64), (120, 140, 160)).save(image)
    out = tmp_path / "results.csv"
    maps_dir = tmp_path / "maps"
    code = main(["score", str(image), "--metric", "ipad_clip", "--device", "cpu", "--out", str(out),
                 "--maps-dir", str(maps_dir)])
    assert code == 0
    row = pd.read_csv(out, keep_default_na=False).iloc[0]
    assert row["error"] == ""
    for column in ("score", "ghosting", "flare", "moire"):
        assert 0.0 <= float(row[column]) <= 1.0
    assert (maps_dir / "photo.png.overlay.png").is_file()


def test_score_metric_options_and_head_weights(tmp_path: Path, capsys) -> None:
    """``--metric NAME[key=value]`` and ``--head-weights`` reach the model; bad ones are usage errors (exit 2)."""
    import pyiqa
    import torch

    from ipad_iqa.weights import save_weights

    image = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (150, 170, 3), dtype=np.uint8)).save(image)  # tiled: the test tile is 64
    x = torch.from_numpy(np.asarray(Image.open(image), dtype=np.float32) / 255).permute(2, 0, 1)[None]

    def scored(*options: str) -> float:
        out = tmp_path / "r.csv"
        assert main(["score", str(image), "--out", str(out), "--overwrite", *options]) == 0
        return float(pd.read_csv(out).iloc[0]["score"])

    for weight in (0.0, 1.0):
        metric = pyiqa.create_metric("ipad_clip_test", arch={"cls_weight": weight})
        assert scored("--metric", f"ipad_clip_test[cls_weight={weight}]") == pytest.approx(
            float(metric(x)), abs=1e-4)
    assert scored("--metric", "ipad_clip_test[cls_weight=0.0]") != scored("--metric",
                                                                          "ipad_clip_test[cls_weight=1.0]")

    model = pyiqa.create_metric("ipad_clip_test").net.model
    state = {k: v + 0.01 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    weights = tmp_path / "other.safetensors"
    save_weights(state, weights, {})
    assert scored("--metric", "ipad_clip_test", "--head-weights", str(weights)) != scored("--metric",
                                                                                           "ipad_clip_test")

    capsys.readouterr()
    for bad, message in [(["--metric", "ipad_clip_test[adapter=bogus]"], "adapter 'bogus'"),
                         (["--metric", "ipad_clip_test", "--head-weights", str(tmp_path / "none.safetensors")],
                          "none.safetensors"),
                         (["--metric", "entropy[x=1]"], "entropy is a global pyiqa metric"),
                         (["--metric", "ipad_clip_test[cls_weight"], "bad method name")]:
        assert main(["score", str(image), *bad]) == 2
        assert message in capsys.readouterr().err


def _photo(tmp_path: Path, size: tuple[int, int] = (150, 170)) -> tuple[Path, torch.Tensor]:
    """A random photo of ``size`` (h, w), larger than ipad_clip_test's 64-px tile, and its (1, 3, h, w) batch."""
    image = tmp_path / "photo.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(image)
    return image, torch.from_numpy(np.asarray(Image.open(image), dtype=np.float32) / 255).permute(2, 0, 1)[None]


def test_save_maps_at_input_resolution_as_in_python(tmp_path: Path) -> None:
    """--save-maps writes the maps the Python metric returns, at input resolution, in both formats."""
    import pyiqa

    from ipad_iqa.output import ARTIFACT_CLASSES

    image, x = _photo(tmp_path)
    expected = pyiqa.create_metric("ipad_clip_test")(x, return_maps=True).maps[0].numpy()
    assert expected.shape == (3, *x.shape[-2:])
    for fmt in ("npy", "png"):
        maps_dir = tmp_path / fmt
        assert main(["score", str(image), "--metric", "ipad_clip_test", "--maps-dir", str(maps_dir),
                     "--save-maps", fmt, "--quiet"]) == 0
        if fmt == "npy":
            np.testing.assert_allclose(np.load(maps_dir / "photo.png.maps.npy"), expected, atol=1e-5)
            continue
        for name, plane in zip(ARTIFACT_CLASSES, expected, strict=True):
            levels = np.asarray(Image.open(maps_dir / f"photo.png.{name}.png"))
            assert np.abs(levels / 65535 - plane).max() <= 1 / 65535 + 1e-5


def test_head_weights_option_in_metric(tmp_path: Path, capsys) -> None:
    """head_weights=FILE in --metric is --head-weights; giving both is a usage error."""
    import pyiqa

    from ipad_iqa.weights import save_weights

    image, _ = _photo(tmp_path, (64, 64))
    state = {k: v + 0.01 if v.is_floating_point() else v
             for k, v in pyiqa.create_metric("ipad_clip_test").net.model.state_dict().items()}
    weights = tmp_path / "other.safetensors"
    save_weights(state, weights, {})

    def scored(*options: str) -> float:
        out = tmp_path / "r.csv"
        assert main(["score", str(image), "--out", str(out), "--quiet", "--overwrite", *options]) == 0
        return float(pd.read_csv(out).iloc[0]["score"])

    by_option = scored("--metric", f"ipad_clip_test[head_weights={weights}]")
    assert by_option == scored("--metric", "ipad_clip_test", "--head-weights", str(weights))
    assert by_option != scored("--metric", "ipad_clip_test")
    capsys.readouterr()
    assert main(["score", str(image), "--metric", f"ipad_clip_test[head_weights={weights}]",
                 "--head-weights", str(weights)]) == 2
    assert "head weights given twice" in capsys.readouterr().err


@pytest.mark.parametrize("metric, expected", [
    ("ipad_clip_vitb16[clip_weights=/missing/ViT-B-16.bin]", ("'/missing/ViT-B-16.bin'", "clip_weights=")),
    ("ipad_clip_vitb16[zero_shot=True]", ("not in the Hugging Face cache", "clip_weights=FILE")),
])
def test_missing_clip_weights_one_line_exit_2(tmp_path: Path, capsys, monkeypatch, metric: str,
                                              expected: tuple[str, ...]) -> None:
    """Offline (the tests' default) and with an empty hub cache: exit 2, one line naming what is missing and the
    option that supplies it, before any model is built (so no hub request either)."""
    import huggingface_hub.constants as hub
    import open_clip

    def never_build(*args, **kwargs):
        raise AssertionError("a CLIP model was built")

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(open_clip, "create_model", never_build)
    image, _ = _photo(tmp_path, (64, 64))
    capsys.readouterr()
    assert main(["score", str(image), "--metric", metric]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("ipad-iqa score: error: ")
    assert all(part in err for part in expected)
