"""The conv stem's full-resolution branch: silent at a warm start, then part of the maps; a stem-only option."""

from __future__ import annotations

import pytest
import torch

from ipad_iqa import create_model


def test_the_branch_starts_silent_and_then_reaches_the_maps():
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    plain, fine = (create_model("ipad_clip_test", arch={"conv_stem": True, "fine_stem": on}).eval()
                   for on in (False, True))
    fine.load_state_dict(plain.state_dict(), strict=False)  # the same weights; the branch's output stays at zero
    with torch.no_grad():
        torch.testing.assert_close(fine(x).maps, plain(x).maps)
        fine.backbone.visual.conv1.fine[-1].weight.normal_()
        assert not torch.allclose(fine(x).maps, plain(x).maps)


def test_patch_embedding_and_pyramid_agree_with_the_branch():
    """The stem's two entry points (tokens alone, tokens with the decoder's detail) run the branch alike."""
    model = create_model("ipad_clip_test", arch={"conv_stem": True, "fine_stem": True}).eval()
    stem = model.backbone.visual.conv1
    torch.nn.init.normal_(stem.fine[-1].weight, std=0.1)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(stem(x), stem.pyramid(x)[0])


def test_the_branch_needs_the_conv_stem():
    with pytest.raises(ValueError, match="fine_stem .* needs conv_stem"):
        create_model("ipad_clip_test", arch={"conv_stem": False, "fine_stem": True})
