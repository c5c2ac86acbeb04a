"""Weight averages: the exact convex combination, loadable like a trained file, and refusals that name why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ipad_iqa.baselines.networks import build_model, load_trained
from ipad_iqa.train.average import average_weights
from ipad_iqa.train.loop import export_weights
from ipad_iqa.weights import WeightsError, read_metadata, sha256_file


@pytest.fixture()
def two_files(tiny_config, tmp_path):
    """Two ipad checkpoints of one tiny architecture with different weights (different seeds)."""
    paths = []
    for seed in (1, 2):
        cfg = tiny_config("ipad", tmp_path, tmp_path, seed=seed)
        torch.manual_seed(seed)
        path = tmp_path / f"seed{seed}.safetensors"
        export_weights(build_model(cfg), path, cfg, {"step": seed})
        paths.append(path)
    return paths


def test_average_is_the_weighted_sum_and_loads(two_files, tmp_path) -> None:
    a, b = two_files
    out = tmp_path / "avg.safetensors"
    sha = average_weights([(a, 0.25), (b, 0.75)], out)
    assert sha == sha256_file(out)
    sa, sb, avg = load_file(str(a)), load_file(str(b)), load_file(str(out))
    floats = [k for k in avg if avg[k].is_floating_point()]
    assert any(not torch.equal(sa[k], sb[k]) for k in floats)
    for k in avg:
        if k in floats:
            torch.testing.assert_close(avg[k].double(), 0.25 * sa[k].double() + 0.75 * sb[k].double(),
                                       rtol=1e-6, atol=1e-6)
        else:  # integer buffers (the token table's ids) are copied, never averaged
            assert torch.equal(avg[k], sa[k])
    meta = read_metadata(out)
    assert [m["coef"] for m in meta["averaged_from"]] == [0.25, 0.75]
    assert [m["sha256"] for m in meta["averaged_from"]] == [sha256_file(a), sha256_file(b)]
    assert meta["config"] == read_metadata(a)["config"]
    model = load_trained(out)
    state = model.state_dict()
    assert all(torch.equal(state[k], avg[k]) for k in avg)


def test_the_same_file_twice_is_itself(two_files, tmp_path) -> None:
    a, _ = two_files
    out = tmp_path / "self.safetensors"
    average_weights([(a, 0.5), (a, 0.5)], out)
    sa, avg = load_file(str(a)), load_file(str(out))
    assert all(torch.equal(sa[k], avg[k]) for k in sa)


@pytest.mark.parametrize(("coefs", "message"), [
    ((0.5, 0.4), "sum to 1"),
    ((1.5, -0.5), "positive"),
    ((float("nan"), 0.5), "positive and finite"),
])
def test_bad_coefficients_are_refused(two_files, tmp_path, coefs, message) -> None:
    with pytest.raises(ValueError, match=message):
        average_weights(list(zip(two_files, coefs, strict=True)), tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_one_member_and_an_existing_output_are_refused(two_files, tmp_path) -> None:
    a, b = two_files
    with pytest.raises(ValueError, match="at least 2"):
        average_weights([(a, 1.0)], tmp_path / "x.safetensors")
    before = sha256_file(b)
    with pytest.raises(FileExistsError, match="not overwriting"):
        average_weights([(a, 0.5), (b, 0.5)], b)
    assert sha256_file(b) == before


def test_another_architecture_is_refused(two_files, tiny_config, tmp_path) -> None:
    cfg = tiny_config("ipad", tmp_path, tmp_path, arch={"freeze_backbone": False, "cls_weight": 0.9})
    other = tmp_path / "other.safetensors"
    export_weights(build_model(cfg), other, cfg, {})
    with pytest.raises(WeightsError, match=r"not trained as the same model.*arch"):
        average_weights([(two_files[0], 0.5), (other, 0.5)], tmp_path / "x.safetensors")


def test_other_tensors_and_non_finite_values_are_refused(two_files, tmp_path) -> None:
    a, b = two_files
    state = load_file(str(b))
    with safe_open(str(b), framework="pt") as fh:
        meta = fh.metadata()  # the stored strings, to write a doctored copy that is otherwise a valid file
    name = next(k for k, v in state.items() if v.is_floating_point())
    dropped = tmp_path / "dropped.safetensors"
    save_file({k: v for k, v in state.items() if k != name}, str(dropped), metadata=meta)
    with pytest.raises(WeightsError, match="other tensors"):
        average_weights([(a, 0.5), (dropped, 0.5)], tmp_path / "x.safetensors")
    state[name] = torch.full_like(state[name], float("nan"))
    nan = tmp_path / "nan.safetensors"
    save_file(state, str(nan), metadata=meta)
    with pytest.raises(WeightsError, match="non-finite"):
        average_weights([(a, 0.5), (nan, 0.5)], tmp_path / "x.safetensors")
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        average_weights([(a, 0.5), (tmp_path, 0.5)], tmp_path / "x.safetensors")



def test_cli_parses_members_and_reports_refusals(two_files, tmp_path, capsys) -> None:
    import argparse

    from ipad_iqa.cli.average_weights import member
    from ipad_iqa.cli.main import main

    assert member("runs/a:b.safetensors:0.25") == (Path("runs/a:b.safetensors"), 0.25)
    for bad in ("a.safetensors", ":0.5", "a.safetensors:half"):
        with pytest.raises(argparse.ArgumentTypeError):
            member(bad)
    a, b = two_files
    out = tmp_path / "avg.safetensors"
    assert main(["average-weights", str(out), f"{a}:0.5", f"{b}:0.5"]) == 0
    assert f"{out}: sha256 {sha256_file(out)}" in capsys.readouterr().out
    assert main(["average-weights", str(out), f"{a}:0.5", f"{b}:0.5"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["average-weights", str(tmp_path / "b.safetensors"), f"{a}:0.5", f"{b}:0.4"]) == 2
    assert "sum to 1" in capsys.readouterr().err
