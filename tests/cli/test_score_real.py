"""The real ``ipad_clip`` metric through the public entry point (needs ``import ipad_iqa`` to register it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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
