"""Regenerate the figure of the Home page: a photo with a synthesized local moire, scored by an IPAD metric.

    python docs/scripts/make_home_figure.py                       # embedded ipad_clip, as registered
    python docs/scripts/make_home_figure.py --head-weights runs/ipad_clip_s/last.safetensors

Writes two files that docs/index.md includes:

* ``docs/assets/home/maps.png``: the input, its ground-truth mask and the overlay of the predicted maps
  (``ipad_iqa.viz.overlay``, with the score and the class probabilities in the legend);
* ``docs/assets/home/caption.md``: what produced the picture (command, metric, weights, git revision) and the
  numbers read off the model, so the caption can never disagree with the figure.

The photo is the scikit-image ``rocket`` sample (public domain, SpaceX), read from the installed package; the
moire (a photographed screen inside the frame) comes from ``ipad_iqa.data.pipeline.render_sample`` with a fixed seed. Rerun this script whenever the
weights of the metric change; nothing else needs editing.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
OUT_DIR = DOCS / "assets" / "home"
# A moire on a screen that covers part of the frame: local, so global metrics hardly move.
SOURCE, LABEL, SEED, SIZE, SEVERITY = "rocket", "moire", (2,), 384, (0.6, 0.85)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metric", default="ipad_clip", help="pyiqa metric name (an ipad_clip* variant)")
    parser.add_argument("--head-weights", default=None, help="IPAD checkpoint overriding the registered weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="where maps.png and caption.md go")
    return parser.parse_args(argv)


def weights_note(metric: str, head_weights: str | None) -> str:
    """Which weights the metric ran with, in words, for the caption."""
    from ipad_iqa.registry import get_variant
    from ipad_iqa.weights import sha256_file

    if head_weights:
        return f"`head_weights={Path(head_weights).name}` (sha256 `{sha256_file(Path(head_weights))[:16]}…`)"
    variant = get_variant(metric)
    if variant.weights is not None:
        return f"the registered weights of `{metric}` (sha256 `{variant.weights.sha256[:16]}…`)"
    return (f"**no trained weights**: `{metric}` has `weights: null` in registry.yaml, so the model is randomly "
            "initialised and its score, probabilities and maps mean nothing yet")


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"], capture_output=True,
                             text=True, cwd=DOCS, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def labelled(image, title: str, height: int):
    """``image`` on a white canvas ``height`` tall with ``title`` above it."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=15)
    canvas = Image.new("RGB", (image.width, height + 24), (255, 255, 255))
    canvas.paste(image, (0, 24))
    ImageDraw.Draw(canvas).text((4, 3), title, fill=(0, 0, 0), font=font)
    return canvas


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    revision = git_revision()  # before this script writes its own outputs into the tree
    import numpy as np
    import pyiqa
    import torch
    from PIL import Image

    import ipad_iqa  # noqa: F401  (registers the ipad_clip* metrics with pyiqa)
    from ipad_iqa.baselines import ipad_inference_code_sha256
    from ipad_iqa.data.pipeline import render_sample
    from ipad_iqa.data.sources import SKIMAGE_SAMPLES, skimage_loader
    from ipad_iqa.output import ARTIFACT_CLASSES
    from ipad_iqa.viz import DEFAULT_STYLE, overlay

    sample = render_sample(skimage_loader(SOURCE)(), LABEL, SEED, SIZE, SEVERITY)
    x = torch.from_numpy(np.array(sample.image)).permute(2, 0, 1).float().div(255).unsqueeze(0)
    kwargs = {"head_weights": args.head_weights} if args.head_weights else {}
    metric = pyiqa.create_metric(args.metric, device=args.device, **kwargs)
    with torch.inference_mode():
        out = metric(x.to(args.device), return_maps=True)
    score = float(out.score[0, 0])
    probs = out.class_probs[0].float().cpu()

    photo = Image.fromarray(sample.image)
    truth = np.asarray(photo, np.float32)
    colour = np.asarray(DEFAULT_STYLE.colors[ARTIFACT_CLASSES.index(LABEL)], np.float32)
    truth[sample.mask] = 0.45 * truth[sample.mask] + 0.55 * colour
    pred = overlay(x[0], out.maps[0].cpu(), score=score, class_probs=probs, panel=True)
    height = max(photo.height, pred.height)
    panels = [labelled(photo, f"input: synthesized {LABEL}", height),
              labelled(Image.fromarray(truth.astype(np.uint8)), f"ground-truth {LABEL} mask", height),
              labelled(pred, f"{args.metric}: maps, score, class probabilities", height)]
    figure = Image.new("RGB", (sum(p.width for p in panels) + 16 * (len(panels) - 1), panels[0].height),
                       (255, 255, 255))
    left = 0
    for panel in panels:
        figure.paste(panel, (left, 0))
        left += panel.width + 16

    args.out_dir.mkdir(parents=True, exist_ok=True)
    figure.save(args.out_dir / "maps.png", optimize=True)
    command = shlex.join(["python", "docs/scripts/make_home_figure.py", *(argv if argv is not None else sys.argv[1:])])
    classes = ", ".join(f"{c} {float(p):.3f}" for c, p in zip(metric.net.artifact_classes, probs, strict=True))
    caption = (
        f"Scikit-image `{SOURCE}` photo ({SKIMAGE_SAMPLES[SOURCE]}) with a local {LABEL} synthesized by IPAD-Synth "
        f"(severity {sample.severity:.2f}), scored by `{args.metric}` with {weights_note(args.metric, args.head_weights)}. "
        f"Score {score:.3f} (1 = no local artifact); class probabilities: {classes}. "
        f"Made by `{command}` at git revision `{revision}` (inference code "
        f"`{ipad_inference_code_sha256()[:16]}`).\n"
    )
    (args.out_dir / "caption.md").write_text(caption, encoding="utf-8")
    print(caption, end="")
    print(f"wrote {args.out_dir / 'maps.png'} and {args.out_dir / 'caption.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
