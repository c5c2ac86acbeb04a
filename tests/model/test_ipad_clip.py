"""Model behaviour on tiny random configs (no network)."""

import dataclasses

import open_clip
import pytest
import torch

from ipad_iqa import create_model
from ipad_iqa.baselines import winclip
from ipad_iqa.model.backbone import create_clip
from ipad_iqa.model.config import IPADArchConfig
from ipad_iqa.model.heads import fuse_probs
from ipad_iqa.model.prompts import TextTower, UnknownWordError, image_anchors, prompt_vocabulary
from ipad_iqa.model.tiling import blend_window, interpolation_matrix, tile_starts


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


@pytest.mark.parametrize("length", [64, 80, 288, 448, 512, 1088, 1920, 10000])
def test_tile_starts_cover_evenly_on_the_grid(length):
    tile, overlap, step = 224 if length > 300 else 64, 32, 16
    starts = tile_starts(length, tile, overlap, step)
    assert starts[0] == 0 and starts[-1] == max(length - tile, 0)
    assert all(s % step == 0 for s in starts)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(tile - g >= overlap for g in gaps)  # every overlap at least the minimum
    assert not gaps or max(gaps) - min(gaps) <= step  # spread evenly, not a thin overlap beside a flush last tile
    if len(gaps) >= 2:  # the fewest tiles: one fewer could not keep the minimum overlap
        assert (length - tile) / (len(gaps) - 1) > tile - overlap


@pytest.mark.parametrize(("size", "plan", "n_views"), [((50, 40), "single", 1), ((64, 64), "single", 1),
                                                      ((100, 64), "tiled", 1 + 2), ((150, 170), "tiled", 1 + 3 * 4)])
def test_views_are_what_the_forward_reads(model, size, plan, n_views):
    """``views`` (what the latency benchmark times) follows the forward's own plan: one view up to a tile,
    else the global view plus every tile, in chunks of ``tile_batch``."""
    x = torch.rand(1, 3, *size)
    assert model.view_plan(*size)[0] == plan
    views = model.views(x)
    assert sum(v.shape[0] for v in views) == n_views
    assert all(v.shape[0] <= model.cfg.tile_batch for v in views)
    ablation = create_model("ipad_clip_test", arch={"tiling": False})
    assert ablation.view_plan(*size) == ("global", *size) and len(ablation.views(x)) == 1


def test_tile_starts_reject_what_cannot_tile():
    with pytest.raises(ValueError, match="multiples of the step"):
        tile_starts(230, 224, 32, 16)
    with pytest.raises(ValueError, match="min_overlap"):
        tile_starts(448, 224, 224, 16)
    with pytest.raises(ValueError, match="tile_overlap"):
        create_model("ipad_clip_test", arch={"tile_overlap": 64})  # its tiles are 64 px


def test_tiles_of_14_px_patches_land_on_the_4_px_map_grid():
    """ViT-L/14 tiles with stride-4 maps: starts on multiples of 28, so no tile is pasted half a cell off."""
    for length in (364, 700, 1092):
        assert all(s % 4 == 0 and s % 14 == 0 for s in tile_starts(length, 336, 42, 28))


def test_blend_window_is_a_raised_cosine():
    w = blend_window(8, torch.float64, torch.device("cpu"))
    profile = torch.sin(torch.pi * (torch.arange(8, dtype=torch.float64) + 0.5) / 8) ** 2
    torch.testing.assert_close(w, profile[:, None] * profile[None, :])


def test_tiles_cross_fade_over_the_whole_overlap():
    """Neighbouring tiles that disagree by a constant leave no step: the blend moves from one to the other
    smoothly across their whole overlap (an 8-cell linear ramp moved 1/8 of the difference per cell)."""
    tile, step, cells = 224, 16, 224 // 4
    starts = tile_starts(448, tile, 32, step)
    assert starts == [0, 112, 224]
    w = blend_window(cells, torch.float64, torch.device("cpu"))[cells // 2]
    acc, wsum = torch.zeros(448 // 4, dtype=torch.float64), torch.zeros(448 // 4, dtype=torch.float64)
    for value, s in enumerate(starts):
        acc[s // 4: s // 4 + cells] += value * w
        wsum[s // 4: s // 4 + cells] += w
    profile = acc / wsum
    steps = profile.diff()
    assert (steps >= -1e-12).all()  # monotone: no bump at a tile border
    overlap_cells = (tile - (starts[1] - starts[0])) // 4
    assert steps.max() <= 1.1 * torch.pi / (2 * overlap_cells)  # a raised-cosine cross-fade over the overlap


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


def test_object_vocabulary_and_ablation_switches_build():
    x = torch.rand(1, 3, 64, 64)
    assert create_model("ipad_clip_test").text_anchors().shape[1] == 1  # object-agnostic by default
    assert create_model("ipad_clip_test", arch={"objects": "default"}).text_anchors().shape[1] == 20
    for arch in ({"objects": "default"}, {"use_adapters": False, "anchor_steering": False}):
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


def test_compact_token_table_embeds_as_the_full_one():
    """The trimmed table gives every prompt word the row the full table gives it."""
    clip = create_clip("ipad-clip-tiny", None)
    full, compact = TextTower(clip), TextTower(clip, prompt_vocabulary())
    assert compact.token_embedding.weight.shape[0] == len(prompt_vocabulary()) < 100
    ids = list(prompt_vocabulary())
    torch.testing.assert_close(compact.embed_ids(ids), full.embed_ids(ids), rtol=0, atol=0)
    assert "text.token_ids" in create_model("ipad_clip_test").state_dict()


@pytest.mark.parametrize("arch", [{"objects": "default"}, {"objects": "agnostic"},
                                  {"objects": "default", "prompt_mode": "fixed"}])
def test_every_prompt_of_every_vocabulary_fits_the_compact_table(arch):
    model = create_model("ipad_clip_test", arch=arch)
    assert model.text.token_ids is not None
    assert torch.isfinite(model.text_anchors()).all()
    assert winclip.state_anchors(model).shape[0] == 4  # WinCLIP's phrases through the same tower


def test_a_word_outside_the_compact_table_is_named():
    model = create_model("ipad_clip_test")
    with pytest.raises(UnknownWordError, match="umbrella.*not in this text tower"):
        model.text.embed_ids(open_clip.tokenizer.SimpleTokenizer().encode("a photo of an umbrella"))


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
    x = torch.rand(1, 3, 100, 150, generator=torch.Generator().manual_seed(0))  # padded and tiled by this variant
    with torch.no_grad():
        full = model(x)
        same = model(x, maps_size=(100, 150))
        small = model(x, maps_size=(40, 60))
    torch.testing.assert_close(same.maps, full.maps)
    assert small.maps.shape == (1, 3, 40, 60)
    torch.testing.assert_close(small.score, full.score)
    resized = torch.nn.functional.interpolate(full.maps, size=(40, 60), mode="bilinear", antialias=True)
    diff = (small.maps - resized).abs()  # the same picture, made without the full-size maps: stride-4 maps
    assert diff.mean() < 0.005 and diff.max() < 0.05  # carry detail that the two resampling orders round apart


@pytest.mark.parametrize("size", [(33, 37), (100, 150), (200, 1200)])  # one padded view; tiled; tiled and wide
def test_map_grid_covers_the_image_not_its_padding(size):
    """``full_maps=False``: ceil(H / stride) x ceil(W / stride) cells, which resized to the image lie on it as
    the full maps do (the grid of the padded extent, resized, would be shifted and stretched)."""
    model = create_model("ipad_clip_test").eval()
    h, w = size
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full, grid = model(x).maps, model(x, full_maps=False).maps
    s = model.map_stride
    assert grid.shape == (1, 3, -(-h // s), -(-w // s))
    resized = torch.nn.functional.interpolate(grid, size=size, mode="bilinear", align_corners=False)
    assert (resized - full).abs().mean() < 0.025


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


def test_tiled_class_token_is_the_most_confident_tiles():
    """Per class, the class-token probability of a tiled image is that of its most confident tile (the scale
    and crop the class token is trained on)."""
    x = torch.rand(1, 3, 150, 170, generator=torch.Generator().manual_seed(2))
    model = create_model("ipad_clip_test", arch={"cls_weight": 1.0})
    t = model.text_anchors()
    glob = model.forward_views(model.global_view(x), t)
    anchors = image_anchors(t, glob.cls_emb, model.cfg.object_temperature)
    per_tile = torch.cat([model.forward_views(tiles, t, anchors.expand(len(chunk), -1, -1)).cls_logits
                          for chunk, tiles in model.tile_batches(x, 160, 176)])
    assert per_tile.shape[0] > 1
    expected = per_tile.softmax(-1)[:, 1:].amax(0, keepdim=True)
    torch.testing.assert_close(model(x).class_probs, expected)


def test_interpolation_matrix_is_linear_between_centres_and_flat_beyond():
    a = interpolation_matrix([4.5, 10.5], 14, torch.float64, torch.device("cpu"))
    torch.testing.assert_close(a.sum(1), torch.ones(14, dtype=torch.float64))
    assert a[4].tolist() == [1.0, 0.0] and a[10].tolist() == [0.0, 1.0]  # cell 4's centre is 4.5
    assert a[7, 1] == pytest.approx(0.5)
    assert a[:4, 0].eq(1).all() and a[11:, 1].eq(1).all()  # constant beyond the outer centres
    assert interpolation_matrix([3.0], 5, torch.float64, torch.device("cpu")).eq(1).all()


def test_tile_levels_ramp_between_tile_centres(model, monkeypatch):
    """Tiles that disagree in level (here: alternately 0.1 and 0.9 everywhere) leave no block: the stitched map
    ramps between tile centres, never by more than the level difference over the centres' spacing per cell."""
    import dataclasses as dc

    real = model.forward_views
    count = iter(range(1000))

    def levelled(views, t, anchors=None):
        out = real(views, t, anchors)
        probs = torch.full_like(out.probs, 0.5)
        if anchors is None:  # the global view: flat, so every step below comes from the tiles
            return dc.replace(out, probs=probs)
        for i in range(views.shape[0]):
            probs[i, 1] = 0.1 + 0.8 * (next(count) % 2)
        return dc.replace(out, probs=probs)

    monkeypatch.setattr(model, "forward_views", levelled)
    hp = wp = 160  # 64-px tiles of the test variant: three per side
    ys, xs = model.tile_grid(hp, wp)
    with torch.no_grad():
        grid, _ = model._tiled(torch.rand(1, 3, hp, wp), hp, wp, model.text_anchors())
    spacing = (xs[1] - xs[0]) / model.map_stride
    ghosting = grid[0, 1]
    largest = max(ghosting.diff(dim=0).abs().max(), ghosting.diff(dim=1).abs().max())
    assert largest <= 0.8 * (1 - model.cfg.global_weights()[0]) / spacing + 1e-5
