"""End to end: the evaluate command on a tiny fixture benchmark and a tiny real-photo folder."""

from __future__ import annotations

import json
from pathlib import Path

from ipad_iqa.cli.main import main
from ipad_iqa.eval.harness import real_items


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


def test_real_items_labels_and_twins(real_dir: Path) -> None:
    samples = {s.key: s for s in real_items(real_dir)}
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


def test_real_mode_brackets_each_difference_from_the_first_method(real_dir: Path, tmp_path: Path) -> None:
    """--real with two methods: per class both AUROCs and the paired-bootstrap interval of their difference."""
    out = tmp_path / "real_report"
    assert main(["evaluate", "--real", str(real_dir), "--methods", "spectral,entropy", "--out", str(out),
                 "--bootstrap", "50", "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    moire = json.loads((out / "bootstrap.json").read_text())["entropy"]["moire"]
    first, second = (metrics[m]["moire"]["image_auroc"] for m in ("spectral", "entropy"))
    assert (moire["n_photos"], moire["n_references"]) == (2, 2)
    assert moire["first"] == first and moire["second"] == second
    assert moire["low"] <= first - second <= moire["high"]
    ghosting = json.loads((out / "bootstrap.json").read_text())["entropy"]["ghosting"]
    assert ghosting["n_photos"] == 0 and ghosting["difference"] is None
    table = (out / "results.md").read_text()
    assert "difference from spectral (paired bootstrap, 50 draws)" in table
    assert f"| entropy | moire | 2 / 2 | {first:.3f} | {second:.3f} | {first - second:+.3f} [" in table


def test_two_evaluations_compare_as_two_methods_of_one(real_dir: Path, tmp_path: Path) -> None:
    """``compare_caches`` over the caches of two evaluations (benchmarks/real_compare.py: two weights files of one
    method) gives what the evaluate command's own bootstrap gives for the same two methods in one evaluation."""
    from ipad_iqa.eval.bootstrap import compare_caches
    from ipad_iqa.eval.cache import PredictionCache

    one = tmp_path / "one"
    assert main(["evaluate", "--real", str(real_dir), "--methods", "spectral,entropy", "--out", str(one),
                 "--bootstrap", "50", "--no-progress"]) == 0
    for method in ("spectral", "entropy"):
        assert main(["evaluate", "--real", str(real_dir), "--methods", method, "--out", str(tmp_path / method),
                     "--no-progress"]) == 0
    caches = {m: PredictionCache(tmp_path / m / "cache", m) for m in ("spectral", "entropy")}
    separate = compare_caches(real_items(real_dir), caches, 50)["entropy"]
    assert separate == json.loads((one / "bootstrap.json").read_text())["entropy"]
    assert separate["moire"]["n_photos"] == 2


def test_method_options_with_lists(benchmark: Path, tmp_path: Path, capsys) -> None:
    name = "ipad_clip_test[global_weight=[0, 1, 0.25]]"
    out = tmp_path / "r"
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", f"spectral,{name}", "--out", str(out),
                 "--no-progress"]) == 0
    assert set(json.loads((out / "metrics.json").read_text())) == {"spectral", name}
    assert main(["evaluate", "--benchmark", str(benchmark), "--methods", "spectral,ipad_clip_test[tiling=false",
                 "--out", str(out), "--no-progress"]) == 2
    assert "--methods: unclosed '['" in capsys.readouterr().err


def test_evaluate_without_methods_runs_the_standard_comparison(benchmark: Path, tmp_path: Path, capsys) -> None:
    """No --methods: ipad_clip and every method that needs nothing more, plus a trained one whose checkpoint is
    given; the others are reported as not run, with what they need, on stderr, in run.json and in results.md."""
    from ipad_iqa.baselines import METHODS, standard_comparison
    from ipad_iqa.baselines.networks import build_model
    from ipad_iqa.train.config import config_from_dict
    from ipad_iqa.train.loop import export_weights

    cfg = config_from_dict({"method": "segnet", "arch": {"widths": [8, 16], "depths": [1, 1], "decoder_width": 8}})
    export_weights(build_model(cfg), tmp_path / "segnet.safetensors", cfg, {})
    out = tmp_path / "standard"
    assert main(["evaluate", "--benchmark", str(benchmark), "--out", str(out), "--limit", "4", "--no-progress",
                 "--checkpoint", f"segnet={tmp_path / 'segnet.safetensors'}"]) == 0
    methods, skipped = standard_comparison({"segnet": "given"})
    assert methods[0] == "ipad_clip" and "segnet" in methods and "spectral" in methods
    assert set(methods[1:]) | set(skipped) == set(METHODS) and not set(methods) & set(skipped)
    assert list(json.loads((out / "metrics.json").read_text())) == list(methods)
    run = json.loads((out / "run.json").read_text())
    assert run["not_run"] == skipped and "aprilgan" in skipped
    assert f"--methods {','.join(methods)}" in run["command"]  # the rerun names what ran
    err = capsys.readouterr().err
    assert "not run: aprilgan: needs its checkpoint: --checkpoint aprilgan=FILE" in err
    results = (out / "results.md").read_text()
    assert "### not run\n\n* " in results and "\n* aprilgan: needs its checkpoint" in results


def test_list_names_every_usable_metric_and_method(capsys) -> None:
    from ipad_iqa.baselines import method_catalogue, usable_variants
    from ipad_iqa.registry import list_variants

    assert main(["list", "metrics", "--names"]) == 0
    metrics = capsys.readouterr().out.split()
    assert metrics == usable_variants() and "ipad_clip" in metrics
    assert set(list_variants()) - set(metrics) == {"ipad_clip_test"}  # random weights: its scores mean nothing
    assert main(["list", "methods", "--names"]) == 0
    assert capsys.readouterr().out.split() == list(method_catalogue())
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for name, method in method_catalogue().items():
        assert f"  {name} " in text and method.summary in text
    assert "needs its checkpoint: --checkpoint segnet=FILE, from `ipad-iqa train --config configs/baselines/segnet.yaml`" in text
