"""Usage: python benchmarks/specular_probe.py BENCH [N] [WEIGHTS]. Exploration (stop 47): the demo's clean coffee
photo reads flare (0.64), its flare map on the spoon's and saucer's glints. IPAD-Synth v2 puts plain lights (suns,
lamps) into every class, but no specular glints on objects. The first N val clean images of BENCH, each with K small
specular glints added (K = 3 or 8; radius 1.5-6 px Gaussian spots, near-white, added in linear light at 0.6-1.5x
white so their cores saturate, placed on the brighter half of the pixels), scored by ipad_clip (or WEIGHTS): mean
class probabilities and the share of images whose highest class is flare."""
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ipad_iqa.baselines import DetectorConfig, build_detector
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.data.synth.common import linear_to_srgb, srgb_to_linear

torch.set_num_threads(2)
bench, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40
det = build_detector("ipad_clip", DetectorConfig(checkpoint=sys.argv[3] if len(sys.argv) > 3 else None))
clean = [r for r in read_manifest(bench, "val") if r.label == "clean"][:n]


def glints(img: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    lin = srgb_to_linear(img)
    h, w = img.shape[:2]
    lum = lin.mean(2)
    ys, xs = np.nonzero(lum >= np.median(lum))
    yy, xx = np.mgrid[0:h, 0:w]
    for i in rng.choice(len(ys), k, replace=False):
        r = rng.uniform(1.5, 6.0)
        spot = np.exp(-((yy - ys[i]) ** 2 + (xx - xs[i]) ** 2) / (2 * r * r)) * rng.uniform(0.6, 1.5)
        lin = lin + spot[..., None] * np.array([1.0, 0.98, 0.95])
    return linear_to_srgb(np.clip(lin, 0, 1))


print("glints  mean P(ghosting, flare, moire)  flare-highest share  mean P(flare) rise")
base = None
for k in (0, 3, 8):
    probs = []
    for j, r in enumerate(clean):
        img = np.asarray(Image.open(r.image).convert("RGB"), np.float32) / 255
        if k:
            img = glints(img, k, np.random.default_rng([47, j, k]))
        x = torch.from_numpy(np.ascontiguousarray(img, np.float32)).permute(2, 0, 1)[None]
        with torch.no_grad():
            probs.append(det.predict(x).class_probs[0].numpy())
    p = np.array(probs)
    base = p if base is None else base
    print(f"{k:>6}  {p.mean(0).round(3).tolist()}  {float((p.argmax(1) == 1).mean()):.3f}  "
          f"{float((p[:, 1] - base[:, 1]).mean()):+.3f}", flush=True)
