"""The Benchmark page's realism figure: real artifact photos beside IPAD-Synth v2 samples of the same class.

Real moiré photos that come with a clean twin get their JOD measured like a synthetic sample (both resized to
the benchmark's canvas size), and are shown beside the synthetic moiré of the nearest JOD: matched visibility.
Real flare and ghosting photos have no twin; they are shown beside synthetic samples of middle severity.

    python docs/scripts/make_realism_figure.py REAL_DIR V2_BENCH [--split test] [--per-class 3] [--seed 0]

Writes docs/assets/benchmark/real_vs_synthetic.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.data.perceptual import predict_visibility
from ipad_iqa.eval.harness import real_items
from ipad_iqa.io import load_image
from ipad_iqa.output import ARTIFACT_CLASSES

OUT = Path(__file__).resolve().parents[1] / "assets" / "benchmark" / "real_vs_synthetic.png"


def _u8(path: Path, side: int | None = None) -> np.ndarray:
    image = Image.fromarray(load_image(path).mul(255).round().byte().permute(1, 2, 0).numpy())
    if side:
        scale = side / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    return np.asarray(image)


def main(argv: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("real", type=Path)
    parser.add_argument("bench", type=Path, help="an IPAD-Synth v2 benchmark folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--per-class", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    items = real_items(args.real)
    twins = {i.twin: i for i in items if i.label == 0 and i.twin}
    fig, axes = plt.subplots(len(ARTIFACT_CLASSES) * 2, args.per_class,
                             figsize=(3.2 * args.per_class, 6.4 * len(ARTIFACT_CLASSES)), squeeze=False)
    for k, cls in enumerate(ARTIFACT_CLASSES):
        real = [i for i in items if i.label == k + 1]
        real = [real[j] for j in sorted(rng.choice(len(real), min(args.per_class, len(real)), replace=False))]
        synth = read_manifest(args.bench, args.split, [cls])
        size = max(_u8(synth[0].image).shape[:2])
        used: set[str] = set()
        for col, item in enumerate(real):
            image = _u8(item.path, size)
            title = f"real {cls}"
            if item.twin in twins:  # matched visibility: the synthetic sample nearest in JOD
                twin = _u8(twins[item.twin].path, size)
                h, w = min(image.shape[0], twin.shape[0]), min(image.shape[1], twin.shape[1])
                _, jod = predict_visibility(image[:h, :w], twin[:h, :w])
                pick = min((r for r in synth if r.key not in used), key=lambda r: abs((r.jod or 10) - jod))
                title += f", JOD {jod:.2f}"
            else:  # no twin: a synthetic sample of middle severity
                middle = sorted((r for r in synth if r.key not in used), key=lambda r: abs((r.severity or 0) - 0.5))
                pick = middle[int(rng.integers(min(5, len(middle))))]
            used.add(pick.key)
            for row, (img, text) in enumerate(((image, title),
                                               (_u8(pick.image), f"synthetic {cls}, JOD {pick.jod:.2f}, "
                                                                 f"severity {pick.severity:.2f}"))):
                ax = axes[2 * k + row, col]
                ax.imshow(img)
                ax.set_title(text, fontsize=9)
                ax.axis("off")
        for col in range(len(real), args.per_class):
            axes[2 * k, col].axis("off")
            axes[2 * k + 1, col].axis("off")
    fig.tight_layout()
    fig.savefig(OUT, dpi=60)
    Image.open(OUT).convert("RGB").quantize(256).save(OUT, optimize=True)  # palette PNG: a quarter of the bytes
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
