"""Usage: python benchmarks/scale_probe.py IMAGE [SCALE ...]. Exploration (stop 45): the shipped ipad_clip's score and
class probabilities of one image resized by each SCALE (bicubic; default 0.7 1 1.4 2), to see whether a misread
depends on the artifact's scale in pixels."""
import sys

import numpy as np
import torch
from PIL import Image

from ipad_iqa.baselines import build_detector

torch.set_num_threads(2)
det = build_detector("ipad_clip")
image = Image.open(sys.argv[1]).convert("RGB")
for scale in map(float, sys.argv[2:] or ["0.7", "1", "1.4", "2"]):
    size = (round(image.width * scale), round(image.height * scale))
    x = torch.from_numpy(np.asarray(image.resize(size, Image.BICUBIC), np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        pred = det.predict(x)
    probs = dict(zip(("ghosting", "flare", "moire"), pred.class_probs[0].tolist()))
    print(f"scale {scale:g} {size[0]}x{size[1]}: score {float(pred.score[0]):.3f}",
          " ".join(f"{k} {v:.3f}" for k, v in probs.items()))
