"""Training-free detectors: valid outputs, and each responds where its artifact is."""

from __future__ import annotations

import math

import pytest
import torch

from ipad_iqa.baselines import build_detector, ops
from ipad_iqa.output import ARTIFACT_CLASSES

MAP_METHODS = ["spectral", "bloom", "edge_autocorr", "handcrafted"]


@pytest.mark.parametrize("name", MAP_METHODS)
def test_valid_output_on_random_input(name: str) -> None:
    det = build_detector(name)
    x = torch.rand(2, 3, 48, 70, generator=torch.Generator().manual_seed(0))
    out = det.predict(x)
    assert out.score.shape == (2, 1) and out.class_probs.shape == (2, 3) and out.maps.shape == (2, 3, 48, 70)
    for t in out:
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1
    assert torch.allclose(out.score, 1 - out.class_probs.max(1, keepdim=True).values)
    for k, c in enumerate(ARTIFACT_CLASSES):
        if c not in det.classes:
            assert out.maps[:, k].abs().max() == 0


def grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.meshgrid(torch.arange(size * 1.0), torch.arange(size * 1.0), indexing="ij")


def smooth_scene(size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (0.3 + 0.3 * ops.gaussian_blur(torch.rand(1, 3, size, size, generator=g), 3.0)).clamp(0, 1)


def test_spectral_responds_to_grating_patch() -> None:
    size = 128
    clean = smooth_scene(size)
    yy, xx = grid(size)
    moire = clean.clone()
    moire[..., 32:96, 32:96] += 0.12 * torch.sin(2 * math.pi * (0.19 * xx + 0.06 * yy))[32:96, 32:96]
    out = build_detector("spectral").predict(torch.cat([clean, moire]).clamp(0, 1))
    m = out.maps[:, ARTIFACT_CLASSES.index("moire")]
    assert m[1, 44:84, 44:84].mean() > 0.5 > 0.1 > m[1, 108:, 108:].mean()
    assert m[1, 44:84, 44:84].mean() > 4 * m[0, 44:84, 44:84].mean()
    assert out.class_probs[1, 2] > out.class_probs[0, 2]


def test_bloom_responds_to_glowing_source() -> None:
    size = 128
    yy, xx = grid(size)
    scene = (0.2 + 0.08 * torch.sin(xx / 3) * torch.sin(yy / 4)).expand(1, 3, size, size)
    r = ((xx - 40) ** 2 + (yy - 40) ** 2).sqrt()
    glow = 0.7 * torch.exp(-r / 15)
    flare = scene * (1 - glow) + glow
    flare[..., r < 5] = 1.0
    out = build_detector("bloom").predict(torch.cat([scene, flare]).clamp(0, 1))
    m = out.maps[:, ARTIFACT_CLASSES.index("flare")]
    ring = (r > 6) & (r < 20)
    assert m[1][ring].mean() > 0.2 > 0.05 > m[1][r > 80].mean()
    assert m[1][ring].mean() > 4 * m[0][ring].mean() + 0.1
    assert out.class_probs[1, 1] > out.class_probs[0, 1]


def test_edge_autocorr_responds_to_doubled_edges() -> None:
    size = 128
    g = torch.Generator().manual_seed(1)
    scene = torch.zeros(1, 1, size, size)
    for i in range(4):
        for j in range(4):
            scene[..., i * 32 + 4:i * 32 + 20, j * 32 + 6:j * 32 + 24] = torch.rand(1, generator=g).item()
    scene = ops.gaussian_blur(scene, 1.0).expand(1, 3, size, size)
    ghost = scene.clone()
    moved = ops.shift(scene, 0, -9)
    ghost[..., 24:104, 24:104] = 0.6 * scene[..., 24:104, 24:104] + 0.4 * moved[..., 24:104, 24:104]
    out = build_detector("edge_autocorr").predict(torch.cat([scene, ghost]))
    m = out.maps[:, ARTIFACT_CLASSES.index("ghosting")]
    inside, outside = m[1, 34:94, 34:94].mean(), m[1, 110:, :].mean()
    assert inside > 0.2 and inside > 4 * outside
    assert inside > 4 * m[0, 34:94, 34:94].mean()
    assert out.class_probs[1, 0] > out.class_probs[0, 0]
