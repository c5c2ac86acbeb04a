"""The fixed moiré cue: fringes light their band and orientation where they lie."""

from __future__ import annotations

import math

import pytest
import torch

from ipad_iqa import create_model
from ipad_iqa.model.cues import LEVELS, SpectrumCue


def test_fringes_light_their_band_and_coherence_in_their_region_only():
    y, x = torch.meshgrid(torch.arange(96.0), torch.arange(96.0), indexing="ij")
    fringes = 0.5 + 0.3 * torch.sin(2 * math.pi * (x + 0.3 * y) / 3.0)  # period about 3 px: the finest band
    image = torch.full((1, 3, 96, 96), 0.5)
    image[..., :, 48:] = fringes[:, 48:]
    cue = SpectrumCue()(image)
    assert cue.shape == (1, SpectrumCue.channels, 24, 24)
    fine_luma, coherence = cue[0, 0], cue[0, 4 * LEVELS]  # channels: 3 energies per band, shares, coherences
    assert fine_luma[:, 16:].mean() > fine_luma[:, :8].mean() + 2  # log energy: fringes against a flat grey
    assert coherence[4:-4, 16:-2].mean() > 0.8


def test_a_view_whose_size_is_no_multiple_of_the_stride_gets_the_stems_grid():
    assert SpectrumCue()(torch.rand(1, 3, 230, 301)).shape[-2:] == (58, 76)


def test_the_cue_input_starts_silent_and_then_reaches_the_maps():
    """A zero-initialised input: a warm start keeps its outputs until training moves it; once moved, it counts."""
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    plain, cued = (create_model("ipad_clip_test", arch={"conv_stem": True, "moire_cue": cue}).eval()
                   for cue in (False, True))
    cued.load_state_dict(plain.state_dict(), strict=False)  # the same weights; the cue's input stays at zero
    with torch.no_grad():
        torch.testing.assert_close(cued(x).maps, plain(x).maps)
        cued.backbone.visual.conv1.cue_in.weight.normal_()
        assert not torch.allclose(cued(x).maps, plain(x).maps)


def test_the_cue_needs_the_conv_stem_and_the_pyramid():
    with pytest.raises(ValueError, match="moire_cue .* needs conv_stem, pyramid"):
        create_model("ipad_clip_test", arch={"moire_cue": True, "pyramid": False})
