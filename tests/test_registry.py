import copy
import json
import os
import subprocess
import sys
import zipfile

import pytest
import yaml

from ipad_iqa.pyiqa_plugin import default_configs
from ipad_iqa.registry import RegistryError, get_variant, load_registry, parse_registry, registry_path

RAW = yaml.safe_load(registry_path().read_text())


def test_shipped_registry_is_valid_and_complete():
    variants = load_registry()
    assert {"ipad_clip", "ipad_clip_vitb16", "ipad_clip_vitl14_336"} <= set(variants)
    assert variants["ipad_clip_vitb16"].clip_model == "ViT-B-16"
    assert variants["ipad_clip_vitb16"].clip_pretrained == "openai"
    assert variants["ipad_clip_vitl14_336"].clip_model == "ViT-L-14-336"


def test_default_configs_follow_pyiqa_conventions():
    cfg = default_configs()["ipad_clip"]
    assert cfg["metric_mode"] == "NR"
    assert cfg["lower_better"] is False
    assert cfg["score_range"] == "0, 1"
    assert cfg["metric_opts"] == {"type": "IPADCLIP", "variant": "ipad_clip"}


def _broken(path: list, value):
    doc = copy.deepcopy(RAW)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["schema_version"], 2, "schema_version"),
        (["variants", "ipad_clip", "classes"], ["flare", "ghosting", "moire"], "classes"),
        (["variants", "ipad_clip", "licence"], KeyError, "missing keys"),
        (["variants", "ipad_clip", "colour"], "red", "unknown keys"),
        (["variants", "ipad_clip", "weights"], {"file": "a.safetensors", "sha256": "abc"}, "sha256"),
        (["variants", "ipad_clip", "weights"], {"sha256": "0" * 64}, "file or a url"),
        (["variants", "ipad_clip", "arch"], {"tile_sise": 3}, "unknown arch option"),
        (["variants", "ipad_clip", "pyiqa", "metric_mode"], "XX", "metric_mode"),
        (["variants", "ipad_clip", "pyiqa", "score_range"], [1, 0], "score_range"),
        (["variants", "ipad_clip", "preprocess", "std"], [1, 0, 1], "positive"),
    ],
)
def test_schema_errors_name_the_problem(path, value, message):
    with pytest.raises(RegistryError, match=message):
        parse_registry(_broken(path, value))


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(RegistryError, match="ipad_clip_vitb16"):
        get_variant("ipad_clip_nope")


@pytest.mark.slow
def test_wheel_ships_the_registry_and_only_the_package(tmp_path):
    root = registry_path().parent if registry_path().parent.name != "ipad_iqa" else registry_path().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(root)], check=True)
    wheel = next(tmp_path.glob("ipad_iqa-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "ipad_iqa/registry.yaml" in names
    assert "ipad_iqa/model/configs/ipad-clip-s.json" in names
    shipped = get_variant("ipad_clip").weights
    if shipped is not None and shipped.file:
        assert f"ipad_iqa/{shipped.file}" in names  # the embedded default travels inside the wheel
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"ipad_iqa", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert yaml.safe_load(zipfile.ZipFile(wheel).read("ipad_iqa/registry.yaml")) == RAW


def test_users_do_not_see_the_test_variant_and_see_weights():
    """Without the tests' switch, pyiqa and list_variants() leave out the random test variant; list_variants()
    says where each variant's weights come from."""
    from ipad_iqa.registry import TEST_VARIANTS_ENV

    code = ("import json, ipad_iqa, pyiqa; "
            "print(json.dumps([pyiqa.list_models(filter='ipad*'), ipad_iqa.list_variants()]))")
    env = {k: v for k, v in os.environ.items() if k != TEST_VARIANTS_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    listed, variants = json.loads(out.stdout.strip().splitlines()[-1])
    hidden = {name for name, v in load_registry().items() if v.allow_random_init}
    assert hidden and not hidden & set(listed) and not hidden & set(variants)
    assert set(listed) == set(variants) == set(load_registry()) - hidden
    for name, status in variants.items():
        assert (load_registry()[name].weights is not None) == status.startswith(("shipped", "downloaded")), status


def test_shipped_weights_stay_small():
    """Packaged weights travel with every install and clone: at most 40 MB each (the compact token table keeps
    the embedded towers near 8 MB)."""
    from ipad_iqa.weights import PACKAGE_DIR

    shipped = {name: PACKAGE_DIR / v.weights.file for name, v in load_registry().items()
               if v.weights is not None and v.weights.file}
    assert shipped
    for name, path in shipped.items():
        assert path.stat().st_size <= 40e6, (name, path.stat().st_size)
