"""Usage: python benchmarks/ghost_twin_maps.py BENCH EVAL_RUN (an evaluate --out folder of the shipped weights on BENCH val). Does the ghosting map respond to the ghost or to where ghosts are placed? Exploration.
The shipped weights' ghosting maps of each val ghosting image's clean twin, cached as the harness caches maps,
scored against the ghost's mask with the harness's pooling (255 pixels against 0 pixels of the ghosting images and
every pixel of the clean images; 128 left out): the pixel AUROC that the placement and content alone earn."""
import json, sys, tempfile
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from ipad_iqa.baselines import build_detector
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.io import load_image

bench, run = Path(sys.argv[1]), Path(sys.argv[2])
torch.set_num_threads(2)
cache = PredictionCache(run / "cache", "ipad_clip")
twins = PredictionCache(Path(tempfile.mkdtemp()), "ipad_clip")
det = build_detector("ipad_clip")
rows = [r for r in read_manifest(bench, "val") if r.label in ("ghosting", "clean")]
acc = {}
def add(mode, name, p, n):
    d = acc.setdefault(mode, {}).setdefault(name, [[], []]); d[0].append(p); d[1].append(n)
paired, within, lift = [], [], []
for r in rows:
    ghost = cache.load(r.key).maps[0].astype(np.float32)
    h, w = ghost.shape
    if r.label == "clean":
        for name in ("ghosted", "twin"):
            add("clean", name, ghost[:0].ravel(), ghost.ravel())
        continue
    with torch.no_grad():
        out = det.predict(load_image(r.reference)[None])
    twin = twins.store([r.key], out, 0.0, 0.0)[0].maps[0].astype(np.float32)
    mask = np.asarray(Image.open(r.mask).convert("L").resize((w, h), Image.NEAREST))
    for name, x in (("ghosted", ghost), ("twin", twin)):
        add(r.subtype, name, x[mask == 255], x[mask == 0])
    if (mask == 255).any() and (mask == 0).any():
        paired.append(float((ghost[mask == 255] > twin[mask == 255]).mean()))
        within.append(float(auroc(np.r_[ghost[mask == 255], ghost[mask == 0]],
                                  np.r_[np.ones((mask == 255).sum()), np.zeros((mask == 0).sum())])))
        lift.append(float(ghost[mask == 255].mean() - twin[mask == 255].mean()))
def au(p, n):
    return float(auroc(np.concatenate(p + n), np.r_[np.ones(sum(map(len, p))), np.zeros(sum(map(len, n)))]))
modes = [k for k in acc if k != "clean"]
out = {}
for name in ("ghosted", "twin"):
    cn = acc["clean"][name][1]
    out[name] = {"all": au([x for k in modes for x in acc[k][name][0]], [x for k in modes for x in acc[k][name][1]] + cn)}
    for k in modes:
        out[name][k] = au(acc[k][name][0], acc[k][name][1] + cn)
out["share_of_mask_pixels_higher_on_ghost_median_image"] = float(np.median(paired))
out["within_image_pixel_auroc_median"] = float(np.median(within))
out["mask_mean_lift_over_twin_median"] = float(np.median(lift))
clean_maps = np.concatenate(acc["clean"]["ghosted"][1])
out["clean_map_quantiles_50_90_99"] = [float(q) for q in np.quantile(clean_maps, [0.5, 0.9, 0.99])]
out["images"] = len(paired)
print(json.dumps(out, indent=1))
