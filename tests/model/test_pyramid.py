"""The stride-4 pyramid decoder of IPAD-CLIP v2, on tiny random configs (no network)."""

import pytest
import torch

from ipad_iqa import create_model
from ipad_iqa.model.pyramid import DetailCNN, PyramidDecoder


def test_untrained_decoder_reproduces_the_upsampled_patch_grid():
    """A warm start from patch-grid weights begins where that model was: the correction starts at zero."""
    torch.manual_seed(0)
    dim, grid = 16, (3, 5)
    decoder = PyramidDecoder(dim, n_taps=2, detail_channels=DetailCNN.channels, width=16)
    s4, s8 = DetailCNN()(torch.rand(2, 3, 48, 80))
    taps = [torch.randn(2, grid[0] * grid[1], dim) for _ in range(2)]
    base = torch.randn(2, grid[0] * grid[1], dim)
    feats, (h, w) = decoder(taps, base, grid, s4, s8)
    assert (h, w) == (12, 20) and feats.shape == (2, h * w, dim)
    up = torch.nn.functional.interpolate(base.reshape(2, *grid, dim).permute(0, 3, 1, 2), size=(h, w),
                                         mode="bilinear", align_corners=False)
    torch.testing.assert_close(feats, up.permute(0, 2, 3, 1).reshape(2, h * w, dim))
    decoder.out.weight.data.normal_()  # a trained correction changes them
    assert not torch.allclose(decoder(taps, base, grid, s4, s8)[0], feats)


@pytest.mark.parametrize("conv_stem", [False, True])  # DetailCNN (real CLIP towers) or the conv stem's strides
def test_pyramid_maps_at_stride_4(conv_stem):
    model = create_model("ipad_clip_test", arch={"conv_stem": conv_stem}).eval()
    flat = create_model("ipad_clip_test", arch={"conv_stem": conv_stem, "pyramid": False}).eval()
    assert model.map_stride == 4 and flat.map_stride == model.backbone.patch_size > 4
    x = torch.rand(2, 3, 90, 130, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        out = model(x)
        alone = model(x[1:])
    assert out.maps.shape == (2, 3, 90, 130) and torch.isfinite(out.maps).all()
    torch.testing.assert_close(out.maps[1:], alone.maps, atol=1e-5, rtol=1e-5)


def test_zero_shot_keeps_the_patch_grid():
    """Zero-shot has no trained decoder, so it reads the text-aligned patch tokens as CLIP gives them."""
    model = create_model("ipad_clip_test", zero_shot=True, random_init=True)
    assert model.map_stride == model.backbone.patch_size


@pytest.mark.parametrize("strength", [None, 0.0, -0.3, 0.8])
def test_dense_logits_without_steered_features_equal_the_steered_ones(strength: float | None) -> None:
    """AnchorAdapter.logits (from the anchor projections and norms) = anchor_logits of the steered features."""
    import torch.nn.functional as F

    from ipad_iqa.model.heads import AnchorAdapter, anchor_logits

    torch.manual_seed(0)
    adapter = AnchorAdapter(32, 4, use_adapter=False, steering=strength is not None, temperature=0.1)
    if strength is not None:
        with torch.no_grad():
            adapter.strength.fill_(strength)
    features = torch.randn(2, 50, 32) * 3
    anchors = F.normalize(torch.randn(2, 4, 32), dim=-1)
    scale = torch.tensor(20.0)
    expected = anchor_logits(adapter(features, anchors), anchors, scale)
    torch.testing.assert_close(adapter.logits(features, anchors, scale), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shape", [(2, 4, 37, 53), (1, 3, 2, 40)])  # reflect and replicate padding
@pytest.mark.parametrize("sigma", [0.7, 2.0])
def test_gaussian_smooth_equals_the_separable_convolution(shape: tuple[int, ...], sigma: float) -> None:
    """The shifted-view blur is the depthwise separable Gaussian convolution it replaced."""
    import math

    import torch.nn.functional as F

    from ipad_iqa.model.heads import gaussian_smooth

    torch.manual_seed(0)
    maps = torch.rand(shape)
    radius = max(1, math.ceil(2 * sigma))
    kernel = torch.exp(-torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2 / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = shape[1]
    mode = "reflect" if min(shape[-2:]) > radius else "replicate"
    x = F.pad(maps, (radius,) * 4, mode=mode)
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    expected = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    torch.testing.assert_close(gaussian_smooth(maps, sigma), expected, atol=1e-6, rtol=1e-5)


def test_topk_pool_is_the_mean_of_the_largest_values() -> None:
    from ipad_iqa.model.heads import topk_pool

    torch.manual_seed(0)
    maps = torch.rand(2, 3, 20, 30)
    k = 12  # ceil(0.02 * 600)
    expected = maps.flatten(2).sort(dim=-1, descending=True).values[..., :k].mean(-1)
    torch.testing.assert_close(topk_pool(maps, 0.02), expected)
