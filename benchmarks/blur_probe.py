"""Usage: python benchmarks/blur_probe.py BENCH [N] [WEIGHTS]. Exploration (stop 49): the real-photo ghosting AUROC
falls as synthetic training goes on because two of its six clean references, defocused screen captures
(`moire/baolp_realscreenmoire/blurresize`), rise in P(ghosting) (0.38 -> 0.53, 0.40 -> 0.60 from the shipped
weights to the 2x rank-loss run), while the reflection photos hold. Does defocus alone read as ghosting? The first
N val clean images of BENCH, each blurred by a Gaussian of sigma 0, 1, 2 and 4 px in linear light (a defocus's
blur acts on light, not on gamma-encoded values), scored by ipad_clip (or WEIGHTS): mean class probabilities, the
share whose highest class is ghosting, and the mean rise of P(ghosting); beside them the val ghosting images'
mean P(ghosting) for scale."""
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter

from ipad_iqa.baselines import DetectorConfig, build_detector
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.data.synth.common import linear_to_srgb, srgb_to_linear

torch.set_num_threads(2)
bench, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40
det = build_detector("ipad_clip", DetectorConfig(checkpoint=sys.argv[3] if len(sys.argv) > 3 else None))
rows = read_manifest(bench, "val")
clean = [r for r in rows if r.label == "clean"][:n]
ghosts = [r for r in rows if r.label == "ghosting"][:n]


def probs_of(img: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(img, np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        return det.predict(x).class_probs[0].numpy()


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255


g = np.array([probs_of(read(r.image)) for r in ghosts])
print(f"val ghosting images: mean P(ghosting, flare, moire) {g.mean(0).round(3).tolist()}")
print("sigma  mean P(ghosting, flare, moire)  ghosting-highest share  mean P(ghosting) rise")
base = None
for sigma in (0, 1, 2, 4):
    p = []
    for r in clean:
        img = read(r.image)
        if sigma:
            img = linear_to_srgb(np.clip(gaussian_filter(srgb_to_linear(img), (sigma, sigma, 0)), 0, 1))
        p.append(probs_of(img))
    p = np.array(p)
    base = p if base is None else base
    print(f"{sigma:>5}  {p.mean(0).round(3).tolist()}  {float((p.argmax(1) == 0).mean()):.3f}  "
          f"{float((p[:, 0] - base[:, 0]).mean()):+.3f}", flush=True)
