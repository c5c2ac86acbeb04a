"""Splits, shared finishing path and the on-the-fly dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ipad_iqa.data import datasets
from ipad_iqa.data.datasets import IPADSynthDataset, SynthDatasetConfig
from ipad_iqa.data.pipeline import render_sample
from ipad_iqa.data.sources import list_clean_pool
from ipad_iqa.data.splits import split_of


def test_split_is_stable_and_balanced():
    names = [f"set/{i}.jpg" for i in range(3000)]
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in reversed(names)][::-1]
    frac = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert abs(frac["train"] - 0.8) < 0.03 and abs(frac["val"] - 0.1) < 0.03
    assert split_of("a/b.jpg") == split_of("a\\b.jpg")
    with pytest.raises(ValueError):
        split_of("x", (0.5, 0.5, 0.5))


@pytest.fixture(scope="module")
def pool(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("pool")
    for k, (name, img) in enumerate(photos.items()):
        sub = root / ("a" if k % 2 else "b")
        sub.mkdir(exist_ok=True)
        Image.fromarray((img * 255).astype(np.uint8)).save(sub / f"{name}.jpg", quality=92)
    (root / "notes.txt").write_text("not an image")
    return root


def test_clean_pool_listing(pool):
    files = list_clean_pool(pool)
    assert len(files) == 3 and all(f.suffix == ".jpg" for f in files)
    by_split = sum(len(list_clean_pool(pool, s)) for s in ("train", "val", "test"))
    assert by_split == 3


def test_clean_and_artifact_share_finishing(photos):
    """Same seed -> same canvas and same finishing draws, whatever the label."""
    a = render_sample(photos["astronaut"], "clean", (1, 2), 96)
    b = render_sample(photos["astronaut"], "flare", (1, 2), 96)
    assert a.params["finish"] == b.params["finish"]
    assert a.image.dtype == np.uint8 and a.image.shape == b.image.shape == (96, 96, 3)
    assert not a.mask.any() and b.mask.any()


def _config(**kw) -> SynthDatasetConfig:
    base = dict(canvas_sizes=(96, 128), crop_size=80, length=24, seed=5, min_mask_pixels=16)
    return SynthDatasetConfig(**(base | kw))


def test_dataset_deterministic_and_consistent(pool):
    paths = list_clean_pool(pool)
    ds, ds2 = IPADSynthDataset(paths, _config()), IPADSynthDataset(paths, _config())
    labels = []
    for i in [0, 5, 11, 23, 5]:
        a, b = ds[i], ds2[i]
        for key in ("image", "masks", "label"):
            assert torch.equal(a[key], b[key])
        assert a["image"].shape == (3, 80, 80) and a["image"].dtype == torch.float32
        assert a["masks"].shape == (3, 80, 80) and set(a["masks"].unique().tolist()) <= {0.0, 1.0}
        lab = int(a["label"])
        on = a["masks"].flatten(1).sum(1)
        if lab == 0:
            assert on.sum() == 0 and a["severity"] == 0.0
        else:
            assert on[lab - 1] >= 16 and on.sum() == on[lab - 1]
        labels.append(lab)
    assert len(set(labels)) > 1


def test_dataset_crop_missing_artifact_is_clean(pool):
    """With a huge min-pixels rule every crop loses its artifact label."""
    ds = IPADSynthDataset(list_clean_pool(pool), _config(class_probs=(0, 0, 1, 0), min_mask_pixels=10**6))
    item = ds[0]
    assert int(item["label"]) == 0 and item["masks"].sum() == 0


def test_dataset_in_dataloader_workers(pool):
    """Same items with 0 and 2 workers: determinism does not depend on the process."""
    ds = IPADSynthDataset(list_clean_pool(pool), _config(length=4))
    loader = lambda w: torch.utils.data.DataLoader(ds, batch_size=2, num_workers=w)  # noqa: E731
    for x, y in zip(loader(0), loader(2), strict=True):
        assert torch.equal(x["image"], y["image"]) and torch.equal(x["label"], y["label"])


def test_dataset_ghosting_modes_reach_the_synthesizer(pool):
    """ghosting_modes changes the ghosting samples; a bad mix is refused when the dataset is built."""
    paths = list_clean_pool(pool)
    v1 = IPADSynthDataset(paths, _config(class_probs=(0, 1, 0, 0), length=4))
    refl = IPADSynthDataset(paths, _config(class_probs=(0, 1, 0, 0), length=4, ghosting_modes=(0, 0, 0, 1)))
    assert any(not torch.equal(v1[i]["image"], refl[i]["image"]) for i in range(4))
    with pytest.raises(ValueError, match="ghosting mode probabilities"):
        IPADSynthDataset(paths, _config(ghosting_modes=(1, 1, 1)))


def test_dataset_reflection_scene_other(pool):
    """reflection_scene 'other' changes only reflections, deterministically; a single photo or a bad value is
    refused when the dataset is built."""
    paths = list_clean_pool(pool)
    cfg = dict(class_probs=(0, 1, 0, 0), length=4, ghosting_modes=(0, 0, 0, 1))
    own = IPADSynthDataset(paths, _config(**cfg))
    other = IPADSynthDataset(paths, _config(**cfg, reflection_scene="other"))
    assert any(not torch.equal(own[i]["image"], other[i]["image"]) for i in range(4))
    assert all(torch.equal(other[i]["image"], other[i]["image"]) for i in range(2))
    motion = dict(cfg, ghosting_modes=(1, 0, 0, 0))
    assert torch.equal(IPADSynthDataset(paths, _config(**motion))[0]["image"],
                       IPADSynthDataset(paths, _config(**motion, reflection_scene="other"))[0]["image"])
    with pytest.raises(ValueError, match="at least two"):
        IPADSynthDataset(paths[:1], _config(reflection_scene="other"))
    with pytest.raises(ValueError, match="reflection scene"):
        IPADSynthDataset(paths, _config(reflection_scene="mirror"))


def test_dataset_decodes_the_reflected_photo_only_for_reflections(pool, monkeypatch):
    """With reflection_scene 'other', a ghosting sample that is not a reflection decodes only its source."""
    decoded: list[Path] = []
    real = datasets.load_photo
    monkeypatch.setattr(datasets, "load_photo", lambda path: decoded.append(Path(path)) or real(path))
    paths = list_clean_pool(pool)
    for modes, per_item in (((1, 0, 0, 0), 1), ((0, 0, 0, 1), 2)):
        data = IPADSynthDataset(paths, _config(class_probs=(0, 1, 0, 0), length=3, ghosting_modes=modes,
                                               reflection_scene="other", cache_size=0))
        decoded.clear()
        for i in range(len(data)):
            data[i]
        assert len(decoded) == per_item * len(data)


def test_render_sample_scene_leaves_other_labels_alone(photos):
    """The scene has its own seed stream: clean and flare samples are byte-identical with or without it."""
    seed = (3, 1, 4)
    for label in ("clean", "flare"):
        np.testing.assert_array_equal(render_sample(photos["astronaut"], label, seed, 128).image,
                                      render_sample(photos["astronaut"], label, seed, 128, scene=photos["rocket"]).image)
    refl = render_sample(photos["astronaut"], "ghosting", seed, 128, scene=photos["coffee"],
                         synth_options={"ghosting": {"mode_probs": (0, 0, 0, 1)}})
    assert refl.params["scene"] == "other"


def test_render_sample_loads_a_lazy_scene_once_and_only_for_reflections(photos):
    """A scene given as a function renders the same bytes as the array, called once for a reflection and not
    at all when the drawn ghosting is not one."""
    seed, calls = (3, 1, 4), []

    def load() -> np.ndarray:
        calls.append(1)
        return photos["coffee"]

    for modes, loads in (((0, 0, 0, 1), 1), ((1, 0, 0, 0), 0)):
        calls.clear()
        options = {"ghosting": {"mode_probs": modes}}
        lazy = render_sample(photos["astronaut"], "ghosting", seed, 128, synth_options=options, scene=load)
        eager = render_sample(photos["astronaut"], "ghosting", seed, 128, synth_options=options, scene=photos["coffee"])
        np.testing.assert_array_equal(lazy.image, eager.image)
        np.testing.assert_array_equal(lazy.mask, eager.mask)
        assert len(calls) == loads


def test_render_sample_passes_synth_options(photos):
    seed = (3, 1, 4)
    refl = render_sample(photos["astronaut"], "ghosting", seed, 128,
                         synth_options={"ghosting": {"mode_probs": (0, 0, 0, 1)}})
    assert refl.params["mode"] == "reflection"
    flare = render_sample(photos["astronaut"], "flare", seed, 128, synth_options={"ghosting": {"mode_probs": (0, 0, 0, 1)}})
    np.testing.assert_array_equal(flare.image, render_sample(photos["astronaut"], "flare", seed, 128).image)
