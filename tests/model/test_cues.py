"""The fixed shift-correlation cue of the dense decoder (model/cues.py)."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from ipad_iqa import create_model
from ipad_iqa.model.cues import DIRECTIONS, OFFSETS, ShiftCorrelation, _displaced


@pytest.mark.parametrize(("dy", "dx"), [(0, 3), (2, 0), (3, 3), (2, -2), (-1, 4)])
def test_displaced_moves_content_and_zero_fills(dy: int, dx: int) -> None:
    x = torch.arange(6 * 7, dtype=torch.float32).reshape(1, 1, 6, 7)
    out = _displaced(x, dy, dx)
    for i in range(6):
        for j in range(7):
            inside = 0 <= i + dy < 6 and 0 <= j + dx < 7
            assert out[0, 0, i, j] == (x[0, 0, i + dy, j + dx] if inside else 0)


def test_a_displaced_copy_lights_its_offset_inside_its_region_only() -> None:
    """Texture plus a weaker copy of itself displaced 8 px to the right, in the left half only: the channel of
    direction (0, 1) and offset 8 reads high on the left half and near zero on the right one."""
    rng = np.random.default_rng(0)
    texture = ndimage.gaussian_filter(rng.random((128, 128)), 1.5)
    ghosted = texture.copy()
    ghosted[:, :64] += 0.6 * np.roll(texture, 8, axis=1)[:, :64]
    x = torch.from_numpy(np.repeat(ghosted[None, None], 3, axis=1).astype(np.float32))
    cue = ShiftCorrelation()(x)
    assert cue.shape == (1, ShiftCorrelation.channels, 32, 32)
    channel = cue[0, DIRECTIONS.index((0, 1)) * len(OFFSETS) + OFFSETS.index(8)]
    left, right = channel[4:-4, 4:12].mean(), channel[4:-4, 20:28].mean()
    assert left > 0.3 and abs(right) < 0.1


def test_the_cue_enters_silently() -> None:
    """A zero-initialised input: with the cue on, the model gives the outputs it gives without, until the
    stem's cue convolution learns (the decoder's correction made non-zero first, as training makes it)."""
    torch.manual_seed(0)
    plain = create_model("ipad_clip_test", arch={"conv_stem": True}).eval()
    with torch.no_grad():
        plain.decoder.out.weight.normal_()
    cued = create_model("ipad_clip_test", arch={"conv_stem": True, "ghost_cue": True}).eval()
    missing, unexpected = cued.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all("cue_in" in k for k in missing) and missing
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(cued(x).maps, plain(x).maps)
        cued.backbone.visual.conv1.cue_in.weight.normal_()
        assert not torch.allclose(cued(x).maps, plain(x).maps)
