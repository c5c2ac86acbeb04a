"""Usage: python benchmarks/scale_eval.py BENCH OUT_JSON [SCALE ...] [--weights FILE]. Exploration (stop 46): how the
shipped ipad_clip's val metrics depend on the scale of the picture: every val image of BENCH resized by SCALE
(bicubic; default 0.7 1 1.4), scored, its maps resized back to the mask's grid (128 x 128), and per class the pixel
AUROC (the class's visible pixels against its images' 0-pixels and every clean image's pixels, as the harness pools)
and the image AUROC (class images against clean ones by the class probability)."""
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ipad_iqa.baselines import build_detector
from ipad_iqa.baselines.base import DetectorConfig
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.eval.metrics.functional import auroc

args = sys.argv[1:]
weights = None
if "--weights" in args:
    i = args.index("--weights"); weights = args[i + 1]; del args[i: i + 2]
bench, out_json, scales = Path(args[0]), Path(args[1]), [float(s) for s in args[2:]] or [0.7, 1.0, 1.4]
torch.set_num_threads(2)
det = build_detector("ipad_clip", DetectorConfig(checkpoint=weights))
CLASSES, G = ("ghosting", "flare", "moire"), 128
rows = read_manifest(bench, "val")
masks = {r.key: np.asarray(Image.open(r.mask).convert("L").resize((G, G), Image.NEAREST)) for r in rows if r.label != "clean"}
result = {}
for s in scales:
    maps, probs = {}, {}
    for r in rows:
        image = Image.open(r.image).convert("RGB")
        size = (round(image.width * s), round(image.height * s))
        x = torch.from_numpy(np.asarray(image.resize(size, Image.BICUBIC), np.float32) / 255).permute(2, 0, 1)[None]
        with torch.no_grad():
            pred = det.predict(x)
        maps[r.key] = F.interpolate(pred.maps.float(), size=(G, G), mode="bilinear", align_corners=False)[0].numpy()
        probs[r.key] = pred.class_probs[0].numpy()
    per = {}
    for c, name in enumerate(CLASSES):
        pos = [maps[r.key][c][masks[r.key] == 255] for r in rows if r.label == name]
        neg = [maps[r.key][c][masks[r.key] == 0] for r in rows if r.label == name] + [maps[r.key][c].ravel() for r in rows if r.label == "clean"]
        p, n = np.concatenate(pos), np.concatenate(neg)
        pix = float(auroc(np.r_[p, n], np.r_[np.ones(p.size), np.zeros(n.size)]))
        ip = [probs[r.key][c] for r in rows if r.label == name]; ineg = [probs[r.key][c] for r in rows if r.label == "clean"]
        img = float(auroc(np.r_[ip, ineg], np.r_[np.ones(len(ip)), np.zeros(len(ineg))]))
        per[name] = {"pixel_auroc": round(pix, 4), "image_auroc": round(img, 4)}
    per["mean"] = {k: round(float(np.mean([per[c][k] for c in CLASSES])), 4) for k in ("pixel_auroc", "image_auroc")}
    result[str(s)] = per
    print(s, json.dumps(per), flush=True)
out_json.write_text(json.dumps(result, indent=1))
