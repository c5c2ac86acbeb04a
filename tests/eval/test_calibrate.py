"""Operating thresholds: chosen at a false-positive rate, measured, stored with the weights, read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ipad_iqa import create_model
from ipad_iqa.cli.main import main
from ipad_iqa.eval.calibrate import calibrate, measure, threshold_at_fpr
from ipad_iqa.thresholds import Thresholds
from ipad_iqa.weights import save_weights


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("fpr", [0.0, 0.05, 0.1, 0.5])
def test_threshold_is_the_lowest_that_keeps_the_rate(seed, fpr):
    rng = np.random.default_rng(seed)
    clean = rng.choice(rng.random(15), size=40)  # ties included
    t = threshold_at_fpr(clean, fpr)
    assert np.mean(clean > t) <= fpr
    lower = clean[clean < t]
    if lower.size:  # any lower candidate flags too many clean images
        assert np.mean(clean > lower.max()) > fpr


def test_measure_against_counting_by_hand():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 3])
    probs = np.array([[.1, .2, .3], [.6, .1, .1], [.2, .2, .2], [.1, .9, .1],
                      [.7, .1, .1], [.4, .1, .1], [.8, .8, .1], [.1, .1, .9]])
    figures = measure(labels, probs, {"ghosting": .5, "flare": .5, "moire": .5})
    # ghosting flagged: rows 1, 4, 6 -> own (label 1) is row 4 only; recall 1/2; clean row 1 flagged: 1/4
    assert figures["ghosting"] == {"recall": 0.5, "precision": 1 / 3, "fpr": 0.25, "n_class": 2, "n_clean": 4,
                                   "n_flagged": 3}
    assert figures["moire"]["recall"] == 1.0 and figures["moire"]["precision"] == 1.0


def test_flags_and_json_round_trip():
    t = calibrate(np.array([0, 0, 1, 2, 3]), np.random.default_rng(0).random((5, 3)), 0.0, "fixture")
    again = Thresholds.from_json(t.to_json())
    assert again == t
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert again.flagged(probs) == [("ghosting",), ()]
    with pytest.raises(ValueError, match="class_probs must be"):
        again.flags(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="moire"):
        Thresholds.from_json({"values": {"ghosting": 0.1, "flare": 0.2}, "target_fpr": 0, "calibrated_on": ""})


def test_calibrate_command_writes_weights_that_carry_their_thresholds(benchmark: Path, tmp_path: Path, capsys):
    weights = tmp_path / "w.safetensors"
    save_weights(create_model("ipad_clip_test").state_dict(), weights, {"variant": "ipad_clip_test"})
    assert create_model("ipad_clip_test", head_weights=weights).thresholds is None
    out, table = tmp_path / "calibrated.safetensors", tmp_path / "thresholds.md"
    args = ["calibrate", "--metric", "ipad_clip_test", "--weights", str(weights), "--benchmark", str(benchmark),
            "--split", "test", "--fpr", "0.5", "--check-benchmark", str(benchmark), "--out", str(out),
            "--table", str(table), "--quiet"]
    assert main(args) == 0
    model = create_model("ipad_clip_test", head_weights=out)
    t = model.thresholds
    assert t is not None and t.target_fpr == 0.5 and t.calibrated_on == "bench test, 5 images"
    assert all(f["fpr"] <= 0.5 for f in t.measured.values())
    assert t.checked == t.measured  # checked on the same split here: the same figures
    for name, value in t.values.items():
        assert f"| {name} | {value:.3f} |" in table.read_text()
    torch.testing.assert_close(model.state_dict(), create_model("ipad_clip_test", head_weights=weights).state_dict())
    assert main(args) == 2  # never overwritten
    assert "exists" in capsys.readouterr().err
