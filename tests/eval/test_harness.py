"""End to end: the evaluate command on a tiny fixture benchmark and a tiny real-photo folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from ipad_iqa.cli.main import main
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import benchmark_samples, real_samples
from ipad_iqa.model.prompts import STATES


def _evaluate(benchmark: Path, out: Path) -> tuple[dict, dict]:
    rc = main(["evaluate", "--benchmark", str(benchmark), "--split", "test", "--methods", "spectral,bloom,psnr",
               "--out", str(out), "--batch-size", "2", "--no-progress"])
    assert rc == 0
    return json.loads((out / "metrics.json").read_text()), json.loads((out / "run.json").read_text())


def test_evaluate_benchmark_end_to_end_and_resume(benchmark: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    metrics, run = _evaluate(benchmark, out)
    assert set(metrics) == {"spectral", "bloom", "psnr"}
    assert set(metrics["spectral"]) == {"ghosting", "flare", "moire", "mean", "any"}
    assert set(metrics["bloom"]["flare"]) == {"pixel_auroc", "aupro", "pixel_ap", "pixel_f1_max",
                                              "image_auroc", "image_ap", "image_f1_max"}
    assert metrics["spectral"]["moire"]["pixel_auroc"] > 0.8  # the grating patch is found
    assert metrics["bloom"]["flare"]["pixel_auroc"] > 0.8
    assert all(v is None for v in metrics["spectral"]["ghosting"].values())  # not addressed: n/a
    assert metrics["spectral"]["mean"]["image_auroc"] is None
    assert metrics["psnr"]["ghosting"]["pixel_auroc"] is None  # image-level only
    assert metrics["psnr"]["ghosting"]["image_auroc"] == 1.0  # the clean source is its own reference
    info = run["methods"]
    assert info["spectral"]["n_images"] == 5 and info["spectral"]["n_predicted"] == 5  # train row left out
    assert info["psnr"]["n_skipped"] == 1  # the flare image has no clean source
    assert info["bloom"]["cpu_s_per_image"] > 0
    assert run["command"].startswith("ipad-iqa evaluate --benchmark")
    table = (out / "results.md").read_text()
    assert "| spectral |" in table and "n/a" in table and "```bash\nipad-iqa evaluate" in table
    for name in ("curves_moire.png", "curves_flare.png", "grid.png"):
        assert (out / name).stat().st_size > 1000
    severity = json.loads((out / "severity.json").read_text())  # every fixture artifact has severity 0.5
    assert {b: v["n_images"] for b, v in severity["spectral"]["moire"].items()} == {
        "[0.00, 0.33)": 0, "[0.33, 0.67)": 1, "[0.67, 1.00]": 0}
    assert severity["spectral"]["moire"]["[0.33, 0.67)"]["pixel_auroc"] == metrics["spectral"]["moire"]["pixel_auroc"]
    assert severity["spectral"]["ghosting"]["[0.33, 0.67)"] == {  # not addressed: n/a, the count stays
        "n_images": 1, "pixel_auroc": None, "aupro": None, "image_auroc": None, "image_ap": None}
    assert "|\n\n### by severity\n" in table and "[0.33, 0.67) (n=1)" in table

    metrics2, run2 = _evaluate(benchmark, out)
    for m in ("spectral", "bloom", "psnr"):
        assert run2["methods"][m]["n_predicted"] == 0
        assert run2["methods"][m]["n_cached"] == run["methods"][m]["n_images"]
    assert metrics2 == metrics
    assert run2["methods"]["bloom"]["cpu_s_per_image"] == run["methods"]["bloom"]["cpu_s_per_image"]


def test_partial_cache_only_predicts_missing(benchmark: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "spectral", "--out", str(out),
                 "--limit", "2", "--no-progress"]) == 0
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "spectral", "--out", str(out),
                 "--no-progress"]) == 0
    info = json.loads((out / "run.json").read_text())["methods"]["spectral"]
    assert (info["n_cached"], info["n_predicted"]) == (2, 3)


def test_cache_of_other_weights_is_refused_not_mixed(benchmark: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    args = ["evaluate", "--benchmark", str(benchmark), "--methods", "spectral", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    info_file = out / "cache" / "spectral" / "method.json"
    info = json.loads(info_file.read_text())
    assert info["fingerprint"] == "training-free"
    info_file.write_text(json.dumps({**info, "fingerprint": "checkpoint sha256 0123"}))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "checkpoint sha256 0123" in err and "new --out folder" in err


def test_missing_checkpoint_is_named(benchmark: Path, tmp_path: Path, capsys) -> None:
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "segnet", "--checkpoint",
                 f"segnet={tmp_path / 'nope.safetensors'}", "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "nope.safetensors" in capsys.readouterr().err


def test_unreadable_severity_is_named(benchmark: Path, tmp_path: Path, capsys) -> None:
    manifest = benchmark / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("moire,test,c,0.5", "moire,test,c,strong"))
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "spectral", "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 2
    assert "images/test/moire/m0.png: severity 'strong' is not a number" in capsys.readouterr().err


def test_unknown_method_is_a_usage_error(benchmark: Path, tmp_path: Path) -> None:
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "nope", "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 2


def test_real_samples_labels_and_twins(real_dir: Path) -> None:
    samples = {s.key: s for s in real_samples(real_dir)}
    assert samples["moire/pairs/res_1_GT.jpg"].label == 0
    assert samples["moire/pairs/res_1_Moire.jpg"].label == 3
    assert samples["moire/set/blurresize/0001.png"].label == 0
    assert samples["flare/src/input1.png"].label == 2
    assert samples["moire/pairs/res_1_GT.jpg"].twin == samples["moire/pairs/res_1_Moire.jpg"].twin
    assert samples["moire/set/blurresize/0001.png"].twin == samples["moire/set/moireresize/0001.png"].twin


def test_evaluate_real(real_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "real_report"
    assert main(["evaluate", "--real", str(real_dir), "--methods", "spectral", "--out", str(out),
                 "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())["spectral"]["moire"]
    assert m["n_pairs"] == 2 and m["pair_win_rate"] == 1.0 and m["image_auroc"] == 1.0
    assert (out / "results.md").is_file() and (out / "grid.png").is_file()
    table = (out / "results.md").read_text()
    assert "pair_win_rate" in table and "mask pixels" not in table  # the legend of the real-photo mode
    assert "| spectral | 1.000 | 1.000 |" in table and "| 2 |" in table  # n_pairs printed as a count


def test_real_bootstrap_script(real_dir: Path, tmp_path: Path, monkeypatch, capsys, docs_script) -> None:
    """docs/scripts/real_bootstrap.py reads two methods' cached predictions and brackets their difference."""
    module = docs_script("real_bootstrap")
    out = tmp_path / "real_report"
    argv = ["real_bootstrap.py", "--real", str(real_dir), "--report", str(out), "spectral", "entropy", "--draws", "50"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match="spectral: 5 photos not in"):
        module.main()
    assert main(["evaluate", "--real", str(real_dir), "--methods", "spectral,entropy", "--out", str(out),
                 "--no-progress"]) == 0
    module.main()
    rows = {line.split(" | ")[0].strip("| "): line for line in capsys.readouterr().out.splitlines()}
    assert rows["ghosting"].endswith("| 0 / 2 | n/a | n/a | n/a |")
    moire = json.loads((out / "metrics.json").read_text())
    first, second = (moire[m]["moire"]["image_auroc"] for m in ("spectral", "entropy"))
    cells = rows["moire"].split(" | ")
    assert cells[1] == "2 / 2" and cells[2] == f"{first:.3f}" and cells[3] == f"{second:.3f}"
    lo, hi = (float(v) for v in cells[4].split("[")[1].rstrip("] |").split(", "))
    assert lo <= first - second <= hi


def test_score_levels_script(benchmark: Path, tmp_path: Path, monkeypatch, capsys, docs_script) -> None:
    """docs/scripts/score_levels.py summarises each label's cached scores, and says which method is missing."""
    module = docs_script("score_levels")
    out = tmp_path / "report"
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "spectral", "--out", str(out),
                 "--no-progress"]) == 0
    argv = ["score_levels.py", "--benchmark", str(benchmark), "--split", "test", "--report", str(out), "spectral"]
    monkeypatch.setattr(sys, "argv", argv)
    capsys.readouterr()  # what evaluate printed
    module.main()
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    samples = benchmark_samples(benchmark, "test")
    cache = PredictionCache(out / "cache", "spectral")
    for cells in rows:
        label = STATES.index(cells[1])
        scores = np.array([cache.load(s.key).score for s in samples if s.label == label])
        assert int(cells[2]) == scores.size and cells[3] == f"{scores.mean():.3f}"
        assert cells[4] == f"{np.median(scores):.3f}"
    assert sum(int(cells[2]) for cells in rows) == len(samples)
    monkeypatch.setattr(sys, "argv", argv[:-1] + ["entropy"])
    with pytest.raises(SystemExit, match="entropy: .* images not in"):
        module.main()


def test_method_options_with_lists(benchmark: Path, tmp_path: Path, capsys) -> None:
    name = "ipad_clip_test[global_weight=[0, 1, 0.25]]"
    out = tmp_path / "r"
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", f"spectral,{name}", "--out", str(out),
                 "--no-progress"]) == 0
    assert set(json.loads((out / "metrics.json").read_text())) == {"spectral", name}
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "spectral,ipad_clip_test[tiling=false",
                 "--out", str(out), "--no-progress"]) == 2
    assert "--methods: unclosed '['" in capsys.readouterr().err


def test_object_weights_script(benchmark: Path, monkeypatch, capsys, docs_script) -> None:
    """docs/scripts/object_weights.py: one weight per (image, object), summing to 1, so uniform lies within."""
    module = docs_script("object_weights")
    monkeypatch.setattr(sys, "argv", ["object_weights.py", "--benchmark", str(benchmark), "--split", "test",
                                      "--metric", "ipad_clip_test"])
    module.main()
    first, second = capsys.readouterr().out.splitlines()
    n = len(benchmark_samples(benchmark, "test"))
    words = first.replace(",", "").replace("(", "").replace(")", "").split()
    assert int(words[0]) == n and words[1] == "images"
    objects = int(words[2])
    lo, hi = (float(v) for v in words[6].split("-"))
    assert lo <= 1 / objects <= hi and float(words[8]) == round(1 / objects, 4)
    assert [part.split()[0] for part in second.split(": ")[1].split(", ")] == list(STATES)
