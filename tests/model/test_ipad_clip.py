"""Model behaviour on tiny random configs (no network)."""

import dataclasses

import pytest
import torch

from ipad_iqa import create_model
from ipad_iqa.model.config import IPADArchConfig
from ipad_iqa.model.heads import fuse_probs
from ipad_iqa.model.prompts import image_anchors
from ipad_iqa.model.tiling import blend_window, tile_starts


@pytest.fixture(scope="module")
def model():
    return create_model("ipad_clip_test")


@pytest.mark.parametrize("size", [(32, 47), (63, 129), (200, 97), (64, 64), (300, 180)])
def test_maps_at_input_resolution(model, size):
    out = model(torch.rand(1, 3, *size))
    assert out.maps.shape == (1, 3, *size)
    assert torch.isfinite(out.maps).all()


def test_position_embedding_is_not_modified(model):
    before = model.backbone.visual.positional_embedding.detach().clone()
    model(torch.rand(1, 3, 48, 208))
    assert torch.equal(before, model.backbone.visual.positional_embedding)


def test_tiled_equals_untiled_at_tile_size(model):
    x = torch.rand(1, 3, 64, 64)  # ipad_clip_test tiles are 64 px
    single = model(x)
    grid, cls_probs = model._tiled(x, 64, 64, model.text_anchors())
    class_probs, score = fuse_probs(cls_probs, model_smooth(model, grid), model.cfg.cls_weight,
                                    model.cfg.topk_ratio)
    torch.testing.assert_close(class_probs, single.class_probs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(score, single.score, atol=1e-5, rtol=1e-5)


def model_smooth(model, grid):
    from ipad_iqa.model.heads import gaussian_smooth

    return gaussian_smooth(grid, model.cfg.smooth_sigma)


def test_batch_independence(model):
    x = torch.rand(3, 3, 150, 90, generator=torch.Generator().manual_seed(0))
    batched = model(x)
    alone = model(x[1:2])
    for b, a in zip(batched, alone, strict=True):
        assert torch.equal(b[1:2], a)


def test_tile_batch_does_not_change_results():
    x = torch.rand(1, 3, 170, 230, generator=torch.Generator().manual_seed(1))
    a = create_model("ipad_clip_test", arch={"tile_batch": 1})(x)
    b = create_model("ipad_clip_test", arch={"tile_batch": 7})(x)
    for u, v in zip(a, b, strict=True):
        torch.testing.assert_close(u, v, atol=1e-6, rtol=1e-5)


def test_tile_starts_cover_and_are_flush():
    assert tile_starts(64, 64, 48) == [0]
    starts = tile_starts(300, 64, 48)
    assert starts[0] == 0 and starts[-1] == 300 - 64
    assert all(b - a <= 48 for a, b in zip(starts, starts[1:], strict=False))


def test_backbone_frozen_by_default_and_unfreezable():
    frozen = create_model("ipad_clip_test", arch={"freeze_backbone": True})
    assert not any(p.requires_grad for p in frozen.backbone.parameters())
    assert all(p.requires_grad for p in frozen.adapters.parameters())
    assert all(p.requires_grad for p in frozen.prompts.parameters())
    free = create_model("ipad_clip_test", arch={"freeze_backbone": False})
    assert all(p.requires_grad for p in free.backbone.parameters())


def test_anchors_cached_in_eval_and_fresh_in_train(model):
    a = model.text_anchors()
    assert model.text_anchors() is a
    model.train()
    assert model.text_anchors() is not a
    model.eval()


def test_object_agnostic_and_ablation_switches_build():
    x = torch.rand(1, 3, 64, 64)
    for arch in ({"objects": "agnostic"}, {"use_adapters": False, "anchor_steering": False}):
        out = create_model("ipad_clip_test", arch=arch)(x)
        assert out.score.shape == (1, 1)


def test_zero_shot_mode_runs_with_random_clip():
    out = create_model("ipad_clip_test", zero_shot=True, random_init=True)(torch.rand(1, 3, 80, 64))
    assert out.maps.shape == (1, 3, 80, 64)


def test_separation_loss_is_differentiable(model):
    model.train()
    t = model.text_anchors()
    loss = model.separation_loss(t)
    loss.backward()
    model.eval()
    assert model.prompts.state_tokens.grad is not None


@pytest.mark.slow
def test_real_vitb16_architecture_runs_with_random_weights():
    m = create_model("ipad_clip_vitb16", random_init=True)
    assert m.backbone.depth == 12 and m.backbone.patch_size == 16
    assert m.backbone.tap_layers == (3, 6, 9, 12)
    out = m(torch.rand(1, 3, 224, 224))
    assert out.maps.shape == (1, 3, 224, 224)
    assert dataclasses.asdict(m.cfg)["freeze_backbone"] is True


def test_maps_size_renders_the_full_maps_at_another_size():
    model = create_model("ipad_clip_test").eval()
    x = torch.rand(1, 3, 100, 150)  # padded to whole patches and tiled by this variant
    with torch.no_grad():
        full = model(x)
        same = model(x, maps_size=(100, 150))
        small = model(x, maps_size=(40, 60))
    torch.testing.assert_close(same.maps, full.maps)
    assert small.maps.shape == (1, 3, 40, 60)
    torch.testing.assert_close(small.score, full.score)
    resized = torch.nn.functional.interpolate(full.maps, size=(40, 60), mode="bilinear", antialias=True)
    assert (small.maps - resized).abs().max() < 0.02  # the same picture, made without the full-size maps


def test_input_scale_runs_the_model_on_the_resized_input_and_returns_maps_at_input_size():
    """input_scale=2 scores what the plain model scores on the 2x input; maps stay at the input's size."""
    plain = create_model("ipad_clip_test").eval()
    zoomed = create_model("ipad_clip_test", arch={"input_scale": 2}).eval()
    zoomed.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 90, 130)
    big = torch.nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    with torch.no_grad():
        out, ref = zoomed(x), plain(big)
        small = zoomed(x, maps_size=(30, 40))
    torch.testing.assert_close(out.score, ref.score)
    torch.testing.assert_close(out.class_probs, ref.class_probs)
    assert out.maps.shape == (1, 3, 90, 130) and small.maps.shape == (1, 3, 30, 40)
    shrunk = torch.nn.functional.interpolate(ref.maps, size=(90, 130), mode="bilinear", antialias=True)
    assert (out.maps - shrunk).abs().max() < 0.05  # the same picture at the input's size
    for bad in (0.1, 5):
        with pytest.raises(ValueError, match="input_scale"):
            IPADArchConfig.from_dict({"input_scale": bad})


def test_arch_options_from_text_take_their_declared_types():
    # what `ipad-iqa evaluate --methods 'ipad_clip[object_temperature=1e-2]'` and registry.yaml hand in
    cfg = IPADArchConfig.from_dict({"object_temperature": "1e-2", "tap_layers": [2, 4], "cls_weight": 1})
    assert cfg.object_temperature == 0.01 and cfg.tap_layers == (2, 4) and isinstance(cfg.cls_weight, float)
    with pytest.raises(ValueError, match="'tiling': expected bool, got 'no'"):
        IPADArchConfig.from_dict({"tiling": "no"})
    # the same conversion for overrides of a variant's arch (pyiqa's arch=, NAME[key=value], train configs)
    model = create_model("ipad_clip_test", arch={"object_temperature": "1e-2", "global_weight": [0, 0.5, 1]})
    assert model.cfg.object_temperature == 0.01 and model.cfg.global_weight == (0.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="'tiling': expected bool, got 'no'"):
        create_model("ipad_clip_test", arch={"tiling": "no"})


def test_global_weight_one_value_or_one_per_class():
    assert IPADArchConfig.from_dict({"global_weight": "0.3"}).global_weights() == (0.3, 0.3, 0.3)
    assert IPADArchConfig.from_dict({"global_weight": [0, 0.5, 1]}).global_weights() == (0.0, 0.5, 1.0)
    for bad, message in (([0.1, 0.2], "global_weight"), (1.5, "outside"), ([0, -0.1, 0], "outside")):
        with pytest.raises(ValueError, match=message):
            IPADArchConfig.from_dict({"global_weight": bad})


def test_per_class_global_weight_mixes_each_class_on_its_own():
    """(0, 1, 0.25): the ghosting map is that of weight 0, flare that of 1, moire that of 0.25."""
    x = torch.rand(1, 3, 100, 150)  # several 64-px tiles
    outs = {w: create_model("ipad_clip_test", arch={"global_weight": w})(x) for w in (0.0, 1.0, 0.25)}
    mixed = create_model("ipad_clip_test", arch={"global_weight": [0.0, 1.0, 0.25]})(x)
    for k, w in enumerate((0.0, 1.0, 0.25)):
        torch.testing.assert_close(mixed.maps[:, k], outs[w].maps[:, k])
    assert (outs[0.0].maps - outs[1.0].maps).abs().max() > 1e-3  # the weight matters on this image
    same = create_model("ipad_clip_test", arch={"global_weight": [0.25, 0.25, 0.25]})(x)
    torch.testing.assert_close(same.maps, outs[0.25].maps)
    torch.testing.assert_close(same.class_probs, outs[0.25].class_probs)


def test_class_token_view_of_tiled_images():
    """'tiles' takes, per class, the most confident tile's class token; 'both' the mean with the global view's;
    the maps never change, and an image that fits one tile has only one class token to read."""
    x = torch.rand(1, 3, 150, 170, generator=torch.Generator().manual_seed(2))
    outs = {v: create_model("ipad_clip_test", arch={"class_token_view": v})(x)
            for v in ("global", "tiles", "both")}
    for v in ("tiles", "both"):
        assert torch.equal(outs[v].maps, outs["global"].maps)
    assert not torch.allclose(outs["tiles"].class_probs, outs["global"].class_probs)
    torch.testing.assert_close(outs["both"].class_probs,
                               (outs["global"].class_probs + outs["tiles"].class_probs) / 2)

    model = create_model("ipad_clip_test", arch={"class_token_view": "tiles", "cls_weight": 1.0})
    t = model.text_anchors()
    glob = model.forward_views(model.global_view(x), t)
    anchors = image_anchors(t, glob.cls_emb, model.cfg.object_temperature)
    per_tile = torch.cat([model.forward_views(tiles, t, anchors.expand(len(chunk), -1, -1)).cls_logits
                          for chunk, tiles in model.tile_batches(x, 160, 176)])
    assert per_tile.shape[0] > 1
    expected = per_tile.softmax(-1)[:, 1:].amax(0, keepdim=True)
    torch.testing.assert_close(model(x).class_probs, expected)

    small = torch.rand(1, 3, 60, 50, generator=torch.Generator().manual_seed(3))
    a, b = (create_model("ipad_clip_test", arch={"class_token_view": v})(small) for v in ("global", "tiles"))
    for u, w in zip(a, b, strict=True):
        assert torch.equal(u, w)


def test_class_token_view_is_checked():
    with pytest.raises(ValueError, match="class_token_view 'tile' not in"):
        IPADArchConfig(class_token_view="tile")


def test_tile_anchors_own_uses_each_tiles_class_token():
    """'own': every tile's anchors come from its own class token, as in training; 'global' (the default) from
    the global view's. With one tile covering the image there is nothing to choose."""
    x = torch.rand(1, 3, 150, 170, generator=torch.Generator().manual_seed(4))
    arch = {"tile_anchors": "own", "class_token_view": "tiles", "global_weight": 0.0, "smooth_sigma": 0.0}
    model = create_model("ipad_clip_test", arch=arch)
    t = model.text_anchors()
    p, cells = model.backbone.patch_size, model.cfg.tile_size // model.backbone.patch_size
    acc, wsum = torch.zeros(1, 4, 10, 11), torch.zeros(1, 1, 10, 11)
    weight = blend_window(cells, model.cfg.tile_overlap // p, x.dtype, x.device)
    tile_cls = []
    for chunk, tiles in model.tile_batches(x, 160, 176):
        for (y, xx), tile in zip(chunk, tiles, strict=True):
            view = model.forward_views(tile[None], t)  # no anchors given: the tile's own
            acc[..., y // p: y // p + cells, xx // p: xx // p + cells] += view.probs * weight
            wsum[..., y // p: y // p + cells, xx // p: xx // p + cells] += weight
            tile_cls.append(view.cls_logits.softmax(-1)[:, 1:])
    grid, cls_probs = model._tiled(x, 160, 176, t)
    torch.testing.assert_close(grid, acc / wsum)
    torch.testing.assert_close(cls_probs, torch.cat(tile_cls).amax(0, keepdim=True))
    shared = create_model("ipad_clip_test", arch={**arch, "tile_anchors": "global"})._tiled(x, 160, 176, t)[0]
    assert not torch.allclose(shared, grid)

    small = torch.rand(1, 3, 60, 50, generator=torch.Generator().manual_seed(5))
    a, b = (create_model("ipad_clip_test", arch={"tile_anchors": v})(small) for v in ("global", "own"))
    for u, w in zip(a, b, strict=True):
        assert torch.equal(u, w)
    with pytest.raises(ValueError, match="tile_anchors 'tile' not in"):
        IPADArchConfig(tile_anchors="tile")


def test_map_gate_class_token():
    """'class_token': each artifact map is the geometric mean of itself and its view's class-token probability."""
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(6))  # one view: the test tile is 64 px
    plain = create_model("ipad_clip_test", arch={"smooth_sigma": 0.0})
    gated = create_model("ipad_clip_test", arch={"smooth_sigma": 0.0, "map_gate": "class_token"})
    cls = plain.forward_views(plain.normalize(x), plain.text_anchors()).cls_logits.softmax(-1)[:, 1:]
    expected = (plain(x, full_maps=False).maps * cls[:, :, None, None]).sqrt()
    torch.testing.assert_close(gated(x, full_maps=False).maps, expected)

    big = torch.rand(1, 3, 150, 170, generator=torch.Generator().manual_seed(7))
    a, b = plain(big), gated(big)
    assert not torch.allclose(a.maps, b.maps) and b.maps.min() >= 0 and b.maps.max() <= 1
    with pytest.raises(ValueError, match="map_gate 'tiles' not in"):
        IPADArchConfig(map_gate="tiles")
