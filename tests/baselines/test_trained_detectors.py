"""Trained methods in the detector registry: names with options, checkpoints, clear errors."""

from __future__ import annotations

import pytest
import torch

from ipad_iqa.baselines import METHODS, DetectorConfig, build_detector
from ipad_iqa.baselines.convnet import ConvNetConfig
from ipad_iqa.baselines.networks import build_model
from ipad_iqa.baselines.trained import TRAINED_METHODS
from ipad_iqa.eval.harness import EvalConfig, LazyDetector
from ipad_iqa.train.config import config_from_dict
from ipad_iqa.train.loop import export_weights
from ipad_iqa.weights import WeightsError


@pytest.mark.parametrize("name", sorted(TRAINED_METHODS))
def test_without_checkpoint_says_how_to_train(name: str) -> None:
    assert name in METHODS
    with pytest.raises(WeightsError, match=f"ipad-iqa train --config {TRAINED_METHODS[name].recipe}"):
        build_detector(name)


def test_options_only_for_models_with_options() -> None:
    with pytest.raises(ValueError, match="takes no model options"):
        build_detector("spectral[cls_weight=1.0]")


def test_ipad_clip_options_and_checkpoint_through_pyiqa(tmp_path) -> None:
    cfg = config_from_dict({"variant": "ipad_clip_test", "arch": {"freeze_backbone": False}})
    export_weights(build_model(cfg), tmp_path / "w.safetensors", cfg, {})
    det = build_detector("ipad_clip_test[cls_weight=1.0,tiling=false]",
                         DetectorConfig(checkpoint=str(tmp_path / "w.safetensors")))
    model = det.metric.net.model
    assert model.cfg.cls_weight == 1.0 and model.cfg.tiling is False
    assert det.predict(torch.rand(1, 3, 40, 90)).maps.shape == (1, 3, 40, 90)


def test_harness_falls_back_to_the_base_checkpoint(tmp_path) -> None:
    cfg = config_from_dict({"method": "segnet", "arch": {"widths": [8, 16], "depths": [1, 1],
                                                         "decoder_width": 8}})
    export_weights(build_model(cfg), tmp_path / "segnet.safetensors", cfg, {})
    config = EvalConfig(methods=("segnet[cls_weight=1.0]",), out=tmp_path / "eval",
                        checkpoints={"segnet": str(tmp_path / "segnet.safetensors")})
    det = LazyDetector("segnet[cls_weight=1.0]", config).get()
    assert det.model.cfg.cls_weight == 1.0
    out = det.predict(torch.rand(1, 3, 33, 70))
    assert out.maps.shape == (1, 3, 33, 70)


def test_cnn_network_options_take_their_declared_types():
    cfg = ConvNetConfig.from_dict({"widths": [8, 16], "depths": [1, 1], "topk_ratio": "5e-2"})
    assert cfg.widths == (8, 16) and cfg.topk_ratio == 0.05
    with pytest.raises(ValueError, match="'depths': expected int"):
        ConvNetConfig.from_dict({"widths": [8], "depths": [1.5]})
