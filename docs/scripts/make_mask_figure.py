"""The Benchmark page's v1-vs-v2 mask figure: on the same artifact images of an IPAD-Synth v1 benchmark, the v1
mask (every changed pixel) beside the v2 rule's three levels and the predictor's visibility map.

    python docs/scripts/make_mask_figure.py V1_BENCH [--split test] [--per-class 2] [--seed 0]

Writes docs/assets/benchmark/v1_vs_v2_masks.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from ipad_iqa.data.benchmark import read_manifest, read_mask
from ipad_iqa.data.perceptual import UNCERTAIN, VISIBLE, predict_visibility, three_level_mask
from ipad_iqa.io import load_image
from ipad_iqa.output import ARTIFACT_CLASSES

OUT = Path(__file__).resolve().parents[1] / "assets" / "benchmark" / "v1_vs_v2_masks.png"


def _u8(path: Path) -> np.ndarray:
    return load_image(path).mul(255).round().byte().permute(1, 2, 0).numpy()


def _overlay(image: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Visible pixels red, the ignore band yellow, over a dimmed photo."""
    out = image.astype(np.float32) / 255 * 0.6
    out[levels == VISIBLE] = 0.35 * out[levels == VISIBLE] + 0.65 * np.array([1.0, 0.1, 0.1])
    out[levels == UNCERTAIN] = 0.5 * out[levels == UNCERTAIN] + 0.5 * np.array([1.0, 0.85, 0.1])
    return out


def main(argv: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", type=Path, help="an IPAD-Synth v1 benchmark folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--per-class", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    for cls in ARTIFACT_CLASSES:
        candidates = [r for r in read_manifest(args.bench, args.split, [cls]) if r.mask and r.reference]
        rows += [candidates[i] for i in sorted(rng.choice(len(candidates), args.per_class, replace=False))]
    fig, axes = plt.subplots(len(rows), 4, figsize=(12, 3.1 * len(rows)), squeeze=False)
    for ax, row in zip(axes, rows, strict=True):
        image, twin = _u8(row.image), _u8(row.reference)
        jnd, jod = predict_visibility(image, twin)
        v1 = np.where(read_mask(row.mask)[0], VISIBLE, 0)
        panels = [(image, f"{row.label}, v1 severity {row.severity:.2f}, JOD {jod:.2f}"),
                  (_overlay(image, v1), f"v1 mask: {np.mean(v1 == VISIBLE):.0%} of the image"),
                  (_overlay(image, three_level_mask(jnd)), "v2 rule: red visible, yellow uncertain"),
                  (np.log10(np.maximum(jnd, 1e-2)), "visible difference, log10 JND")]
        for a, (img, title) in zip(ax, panels, strict=True):
            a.imshow(img, cmap="magma" if img.ndim == 2 else None, vmin=-2 if img.ndim == 2 else None,
                     vmax=1.5 if img.ndim == 2 else None)
            a.set_title(title, fontsize=9)
            a.axis("off")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=60)
    Image.open(OUT).convert("RGB").quantize(256).save(OUT, optimize=True)  # palette PNG: a quarter of the bytes
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
