"""Regenerate the demo images in examples/ from licence-clean scikit-image samples.

    python examples/make_examples.py

Each artifact image is an IPAD-Synth v2 sample (visibility-calibrated severity, the product's ground truth)
of a scikit-image photo at one severity for all three classes, 0.7: plainly visible at 100 %. The clean one
is a photo through the same finishing path. No source photo may show a real artifact of another class: the
rocket launch photo, once the ghosting example, carries real lens starbursts (flare), so ghosting is drawn
on the cameraman. Sources and licences: ipad_iqa.data.sources.SKIMAGE_SAMPLES.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ipad_iqa.data.perceptual import render_visible_sample
from ipad_iqa.data.sources import skimage_loader

# (output name, scikit-image sample, label, seed)
EXAMPLES = (
    ("clean_coffee.jpg", "coffee", "clean", 1),
    ("flare_astronaut.jpg", "astronaut", "flare", 2),
    ("moire_chelsea.jpg", "chelsea", "moire", 3),
    ("ghosting_camera.jpg", "camera", "ghosting", 4),
)
SIZE = 448
SEVERITY = 0.7


def main() -> None:
    out = Path(__file__).resolve().parent
    for name, sample, label, seed in EXAMPLES:
        s = render_visible_sample(skimage_loader(sample)(), label, (seed,), SIZE, (SEVERITY, SEVERITY))
        Image.fromarray(s.image).save(out / name, quality=93)
        print(f"{name}: {label} severity={s.severity:.2f} jod={s.jod:.2f} size={s.image.shape[1]}x{s.image.shape[0]}")


if __name__ == "__main__":
    main()
