"""Usage: python benchmarks/reflection_probe.py BENCH [N] [WEIGHTS]. Exploration (stop 46): real reflection photos often score
moiré highest (model card). Which reflections do? The first N val clean images of BENCH, each with the next one's
mirror image reflected over the whole frame by the reflection mode's own formula (I_g = (1 - g/4) I + g G_sigma * R,
linear light, g = 0.35, no second-surface echo), for several defocus sigmas; mean class probabilities and the share
of images whose highest class is each. The synthesizer draws sigma from 0.5-3 px over a region of the frame."""
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from ipad_iqa.baselines import DetectorConfig, build_detector
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.data.synth.common import linear_to_srgb, srgb_to_linear

torch.set_num_threads(2)
bench, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40
weights = sys.argv[3] if len(sys.argv) > 3 else None  # a checkpoint of ipad-iqa train; default: the shipped weights
det = build_detector("ipad_clip", DetectorConfig(checkpoint=weights))
clean = [r for r in read_manifest(bench, "val") if r.label == "clean"][: n + 1]
images = [np.asarray(Image.open(r.image).convert("RGB"), np.float32) / 255 for r in clean]
print("sigma  mean P(ghosting, flare, moire)  highest-class share (ghosting, flare, moire)")
for sigma in (None, 1.5, 6.0, 16.0):
    probs = []
    for i in range(n):
        img = images[i]
        if sigma is not None:
            other = images[i + 1]
            h, w = img.shape[:2]
            other = np.asarray(Image.fromarray((other * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), np.float32) / 255
            refl = ndimage.gaussian_filter(srgb_to_linear(other[:, ::-1]), (sigma, sigma, 0))
            img = linear_to_srgb((1 - 0.35 / 4) * srgb_to_linear(img) + 0.35 * refl)
        x = torch.from_numpy(np.ascontiguousarray(img, np.float32)).permute(2, 0, 1)[None]
        with torch.no_grad():
            probs.append(det.predict(x).class_probs[0].numpy())
    p = np.array(probs)
    share = np.bincount(p.argmax(1), minlength=3) / len(p)
    print(f"{'none' if sigma is None else sigma:>5}  {p.mean(0).round(3).tolist()}  {share.round(3).tolist()}", flush=True)
