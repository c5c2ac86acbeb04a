"""Regenerate the demo images in examples/ from licence-clean scikit-image samples.

    python examples/make_examples.py

Each artifact image is an IPAD-Synth sample (fixed seed) of a scikit-image photo; the clean one is the same
photo through the same finishing path. Sources and licences: ipad_iqa.data.sources.SKIMAGE_SAMPLES.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ipad_iqa.data.pipeline import render_sample
from ipad_iqa.data.sources import skimage_loader

# (output name, scikit-image sample, label, seed, severity range): moderate severities, visible but not blatant.
EXAMPLES = (
    ("clean_coffee.jpg", "coffee", "clean", 1, (0.0, 1.0)),
    ("flare_astronaut.jpg", "astronaut", "flare", 2, (0.5, 0.7)),
    ("moire_chelsea.jpg", "chelsea", "moire", 3, (0.6, 0.8)),
    ("ghosting_rocket.jpg", "rocket", "ghosting", 4, (0.6, 0.8)),
)
SIZE = 448


def main() -> None:
    out = Path(__file__).resolve().parent
    for name, sample, label, seed, severity in EXAMPLES:
        s = render_sample(skimage_loader(sample)(), label, (seed,), SIZE, severity)
        Image.fromarray(s.image).save(out / name, quality=93)
        print(f"{name}: {label} severity={s.severity:.2f} size={s.image.shape[1]}x{s.image.shape[0]}")


if __name__ == "__main__":
    main()
