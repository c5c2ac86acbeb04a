"""The fixed moiré cue: fringes light their band and orientation where they lie."""

from __future__ import annotations

import math

import torch

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
