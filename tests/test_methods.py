"""The method-name grammar shared by ``ipad-iqa evaluate --methods``, ``ipad-iqa score --metric`` and the evaluator."""

from __future__ import annotations

import pytest

from ipad_iqa.methods import parse_methods, split_method, split_top_level


def test_split_method() -> None:
    assert split_method("segnet") == ("segnet", {})
    assert split_method("ipad_clip[cls_weight=1.0, tiling=false]") == ("ipad_clip", {"cls_weight": 1.0,
                                                                                    "tiling": False})
    assert split_method("ipad_clip[global_weight=[0, 0.75, 0],cls_weight=1]") == (
        "ipad_clip", {"global_weight": [0, 0.75, 0], "cls_weight": 1})
    for bad in ("ipad_clip[cls_weight]", "ipad_clip[a=1", "x]", "[a=1]", "ipad_clip[a=[1,2]", "ipad_clip[a=1]]",
                "ipad_clip[a=1]x"):
        with pytest.raises(ValueError):
            split_method(bad)


def test_split_top_level() -> None:
    assert split_top_level("a,b[x=1,y=[2,3]],c") == ["a", "b[x=1,y=[2,3]]", "c"]
    assert split_top_level("a") == ["a"]
    for bad in ("a[,b", "a],b"):
        with pytest.raises(ValueError):
            split_top_level(bad)


def test_parse_methods_keeps_options_whole_and_checks_every_name() -> None:
    assert parse_methods("ipad_clip[global_weight=[0, 0.75, 0],cls_weight=1], spectral,") == (
        "ipad_clip[global_weight=[0, 0.75, 0],cls_weight=1]", "spectral")
    for bad, message in ((" , ", "no method"), ("spectral,ipad_clip[cls_weight]", "not key=value"),
                         ("a[x=1", "unclosed")):
        with pytest.raises(ValueError, match=message):
            parse_methods(bad)


def test_ipad_options_split_weights_from_arch() -> None:
    from ipad_iqa.methods import ipad_options

    _, options = split_method("ipad_clip_vitb16[zero_shot=true,clip_weights=/m/clip.bin,head_weights=h.safetensors]")
    assert ipad_options(options) == {"clip_weights": "/m/clip.bin", "head_weights": "h.safetensors",
                                     "arch": {"zero_shot": True}}
    assert ipad_options({"cls_weight": 1.0}) == {"arch": {"cls_weight": 1.0}}
    assert ipad_options({}) == {}
    for bad in ({"clip_weights": None}, {"head_weights": True}, {"clip_weights": ""}):
        with pytest.raises(ValueError, match="needs a file"):
            ipad_options(bad)
