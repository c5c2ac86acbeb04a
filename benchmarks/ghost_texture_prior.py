"""Usage: python benchmarks/ghost_texture_prior.py BENCH EVAL_RUN. Where does the ghosting pixel AUROC come from? The shipped maps against a map of local texture alone. Exploration.
Pools as the harness does at the cached maps' size: visible (255) ghosting pixels against unmasked pixels of the
ghosting images and every pixel of the clean ones; 128 left out."""
import json, sys
from pathlib import Path
import numpy as np
from PIL import Image
from scipy import ndimage
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.metrics.functional import auroc

bench, run = Path(sys.argv[1]), Path(sys.argv[2])
cache = PredictionCache(run / "cache", "ipad_clip")
rows = [r for r in read_manifest(bench, "val") if r.label in ("ghosting", "clean")]
pos = {"model": [], "texture": []}; neg = {"model": [], "texture": []}; mode_of = []
per_mode = {}
for r in rows:
    pred = cache.load(r.key)
    m = pred.maps[0].astype(np.float32)
    h, w = m.shape
    img = np.asarray(Image.open(r.image).convert("L").resize((w, h), Image.BILINEAR), np.float32) / 255
    g = np.hypot(ndimage.sobel(img, 0), ndimage.sobel(img, 1))
    tex = ndimage.gaussian_filter(g, 3)
    if r.mask is not None:
        mask = np.asarray(Image.open(r.mask).convert("L").resize((w, h), Image.NEAREST))
    else:
        mask = np.zeros((h, w), np.uint8)
    mode = r.subtype if r.label == "ghosting" else "clean"
    for name, x in (("model", m), ("texture", tex)):
        p, n = x[mask == 255], x[mask == 0]
        per_mode.setdefault(mode, {"model": [[], []], "texture": [[], []]})[name][0].append(p)
        per_mode[mode][name][1].append(n)
def au(p, n):
    return float(auroc(np.concatenate([p, n]), np.r_[np.ones(len(p)), np.zeros(len(n))]))
out = {}
modes = [k for k in per_mode if k != "clean"]
for name in ("model", "texture"):
    clean_n = np.concatenate(per_mode["clean"][name][1])
    allp = np.concatenate([np.concatenate(per_mode[k][name][0]) for k in modes])
    alln = np.concatenate([np.concatenate(per_mode[k][name][1]) for k in modes] + [clean_n])
    out[name] = {"all": au(allp, alln)}
    for k in modes:
        out[name][k] = au(np.concatenate(per_mode[k][name][0]), np.concatenate(per_mode[k][name][1] + [clean_n]))
print(json.dumps(out, indent=1))
