"""Does the metric call a soft photo ghosting? A probe of the ghosting class's false positives on defocused images.

A ghost is a faint displaced copy, so a soft edge is part of what it looks like; an out-of-focus photo has soft
edges everywhere and no copy. On the clean images of a benchmark split this scores each image as it is and
defocused by a Gaussian of sigma 1, 2 and 4 px, applied in linear light as a lens blurs light, and reports the
mean class probabilities, the share of images whose highest class is ghosting and, for scale, the mean
P(ghosting) of the split's ghosting images. A detector of ghosting, not of softness, leaves P(ghosting) where it
was. Writes ``benchmarks/results/focus_probe.json``.

    python benchmarks/focus_probe.py BENCH [--split test] [--metric ipad_clip] [--weights W] [--limit N]
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from common import probe_metric, probe_parser, write_results
from scipy import ndimage

from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.data.synth.common import linear_to_srgb, srgb_to_linear
from ipad_iqa.io import load_image
from ipad_iqa.output import ARTIFACT_CLASSES

SIGMAS = (0.0, 1.0, 2.0, 4.0)  # px at the image's own size
GHOSTING = ARTIFACT_CLASSES.index("ghosting")


def defocus(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``x`` (3, H, W) in [0, 1] blurred by a Gaussian of ``sigma`` px in linear light."""
    if sigma == 0:
        return x
    lin = ndimage.gaussian_filter(srgb_to_linear(x.permute(1, 2, 0).numpy()), (sigma, sigma, 0))
    return torch.from_numpy(np.ascontiguousarray(linear_to_srgb(np.clip(lin, 0.0, 1.0)), np.float32)).permute(2, 0, 1)


def summary(probs: np.ndarray) -> dict[str, object]:
    return {"n": len(probs), "mean_class_probs": dict(zip(ARTIFACT_CLASSES, probs.mean(0).round(4).tolist(), strict=True)),
            "ghosting_highest_share": round(float((probs.argmax(1) == GHOSTING).mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = probe_parser(__doc__)
    ap.add_argument("--limit", type=int, help="the first N clean and N ghosting images only")
    args = ap.parse_args(argv)
    clean = read_manifest(args.bench, split=args.split, labels=["clean"])[:args.limit]
    ghosts = read_manifest(args.bench, split=args.split, labels=["ghosting"])[:args.limit]
    if not clean or not ghosts:
        print(f"{args.bench} has no clean or no ghosting {args.split} images", file=sys.stderr)
        return 2
    metric = probe_metric(args)

    def probs(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return metric(x[None], return_maps=True).class_probs[0].numpy()

    ghost_p = np.array([probs(load_image(r.image)) for r in ghosts])
    per_sigma = {}
    for sigma in SIGMAS:
        per_sigma[sigma] = np.array([probs(defocus(load_image(r.image), sigma)) for r in clean])
    base = per_sigma[0.0][:, GHOSTING]
    data = {"benchmark": str(args.bench), "split": args.split, "metric": args.metric,
            "weights": args.weights or "registered", "ghosting_images": summary(ghost_p),
            "clean_defocused": {f"sigma_{s:g}px": summary(p) | {
                "mean_p_ghosting_rise": round(float((p[:, GHOSTING] - base).mean()), 4)}
                for s, p in per_sigma.items()}}
    print(f"ghosting images        n={len(ghost_p):3d}  mean P(ghosting) {ghost_p[:, GHOSTING].mean():.3f}")
    for name, part in data["clean_defocused"].items():
        print(f"clean, {name:15s} n={part['n']:3d}  mean P(ghosting) "
              f"{part['mean_class_probs']['ghosting']:.3f} ({part['mean_p_ghosting_rise']:+.3f}); "
              f"ghosting highest on {part['ghosting_highest_share']:.2f}")
    write_results("focus_probe", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
