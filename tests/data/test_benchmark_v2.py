"""make-benchmark's default, IPAD-Synth v2: perceptual masks, the JOD column, twins the rule compared with."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipad_iqa.cli.main import main
from ipad_iqa.data.perceptual import DEFAULT_RULE, LIGHT_RATE, VISIBLE, predict_visibility

pytest.importorskip("pycvvdp")


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "v2"
    assert main(["make-benchmark", "--out", str(out), "--n-per-class", "1", "--n-clean", "1", "--size", "128",
                 "--quiet"]) == 0
    return out


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def test_v2_manifest_masks_and_twins(bench: Path) -> None:
    spec = json.loads((bench / "benchmark.json").read_text())
    assert spec["version"] == "v2" and spec["reflection_scene"] == "other"
    assert spec["light_rate"] == LIGHT_RATE  # a v2 folder written before scene lights differs from this one
    with (bench / "manifest.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[-1] == "jod"
    with (bench / "skipped_samples.csv").open() as f:
        skipped = list(csv.DictReader(f))
    assert len(rows) + len(skipped) == 4
    for r in rows:
        if r["label"] == "clean":
            assert float(r["jod"]) == 10.0 and r["mask"] == ""
            continue
        if r["label"] == "flare":  # its lights are in the scene: its twin shows them
            assert "lights" in json.loads(r["params"])
        mask = _read(bench / r["mask"])
        assert set(np.unique(mask)) <= {0, 128, 255} and (mask == VISIBLE).sum() >= DEFAULT_RULE.min_visible_pixels
        visibility, jod = predict_visibility(_read(bench / r["image"]), _read(bench / r["reference"]))
        assert jod == pytest.approx(float(r["jod"]), abs=1e-3)  # the reference is the twin the rule compared with
        assert float(r["severity"]) == pytest.approx(DEFAULT_RULE.severity_of(jod), abs=1e-3)
        assert (visibility[mask == VISIBLE] >= 1.0).mean() >= 0.95
