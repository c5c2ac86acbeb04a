"""Does the model miss ghosting only where the labels ask too much? Its maps on the two halves of the masks.

A ghosting mask marks where the displaced copy differs visibly from the clean twin. Part of that is a copy that
stands out over its background; part is a copy blended into texture as strong as itself, which a viewer without
the twin could hardly call an artifact. Per visible (255) pixel of the split's ghosting samples this script
compares the change's local contrast (RMS of the luminance of artifact minus twin, Gaussian sigma 3) with the
background's own (RMS of the twin's luminance minus its blur at the same sigma): "stands out" where the change is
at least as strong. It reports each mode's share of standing-out pixels and the pixel AUROC of the weights' maps
for each half against the unmasked pixels of the same images. If the model found the standing-out half and
missed the buried one, the labels would be the limit; if it misses both alike, the model is. Writes
``benchmarks/results/ghost_conspicuity.json``.

    python benchmarks/ghost_conspicuity.py --benchmark BENCH [--split val] [--weights W]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import torch
from common import write_results
from PIL import Image
from scipy import ndimage

from ipad_iqa.baselines.networks import load_trained
from ipad_iqa.data.synth.common import LUMA
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.weights import sha256_file

SHIPPED = Path(__file__).resolve().parents[1] / "ipad_iqa" / "assets" / "ipad_clip_s.safetensors"
SIGMA = 3.0
NEGATIVE_STEP = 16  # every 16th unmasked pixel: the negatives outnumber the positives tenfold even so


def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def luminance(image: np.ndarray) -> np.ndarray:
    return (image.astype(np.float32) / 255) @ LUMA


def local_rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(ndimage.gaussian_filter(x * x, SIGMA))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--weights", type=Path, default=SHIPPED, help="default: the shipped ipad_clip weights")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model = load_trained(args.weights)
    with open(args.benchmark / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == "ghosting" and r["split"] == args.split]
    if not rows:
        raise SystemExit(f"no ghosting samples of split {args.split!r} in {args.benchmark}")
    counts: dict[str, list[int]] = {}
    standing, buried, negatives = [], [], []
    for r in rows:
        image = rgb(args.benchmark / r["image"])
        art, twin = luminance(image), luminance(rgb(args.benchmark / r["reference"]))
        stands_out = local_rms(art - twin) >= local_rms(twin - ndimage.gaussian_filter(twin, SIGMA))
        mask = np.asarray(Image.open(args.benchmark / r["mask"]).convert("L"))
        with torch.no_grad():
            ghost = model(torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255).maps[0, 0].numpy()
        visible = mask == 255
        mode = counts.setdefault(json.loads(r["params"])["mode"], [0, 0])
        mode[0] += int((visible & stands_out).sum())
        mode[1] += int(visible.sum())
        standing.append(ghost[visible & stands_out])
        buried.append(ghost[visible & ~stands_out])
        negatives.append(ghost[mask == 0][::NEGATIVE_STEP])
    neg = np.concatenate(negatives)

    def half_auroc(parts: list[np.ndarray]) -> float | None:
        pos = np.concatenate(parts)
        return auroc(np.concatenate([pos, neg]), np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)])

    result = {"benchmark": str(args.benchmark), "split": args.split, "images": len(rows),
              "weights_sha256": sha256_file(args.weights),
              "stands_out_share": {m: c / max(1, n) for m, (c, n) in sorted(counts.items())},
              "stands_out_share_all": sum(c for c, _ in counts.values()) / max(1, sum(n for _, n in counts.values())),
              "pixel_auroc": {"stands_out": half_auroc(standing), "buried": half_auroc(buried)}}
    write_results("ghost_conspicuity", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
