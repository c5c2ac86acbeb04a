"""The real ``ipad_clip`` metric through the public entry point (needs ``import ipad_iqa`` to register it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
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
        assert main(["score", str(image), "--out", str(out), *options]) == 0
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
                         (["--metric", "entropy[x=1]"], "entropy takes no arch options"),
                         (["--metric", "ipad_clip_test[cls_weight"], "bad method name")]:
        assert main(["score", str(image), *bad]) == 2
        assert message in capsys.readouterr().err
