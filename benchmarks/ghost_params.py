"""Usage: python benchmarks/ghost_params.py BENCH EVAL_RUN [CLASS] (an evaluate --out folder on BENCH's val split; CLASS
ghosting (default), flare or moire). Exploration (stop 45): the class's pixel AUROC of the cached maps per tercile of each numeric synthesis parameter of its images
(each tercile's visible pixels against every image of the class's 0-pixels and every clean image's pixels, as the harness pools)."""
import json, sys
from pathlib import Path
import numpy as np
from PIL import Image
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.metrics.functional import auroc
bench, run = Path(sys.argv[1]), Path(sys.argv[2])
LABEL = sys.argv[3] if len(sys.argv) > 3 else "ghosting"
C = ["ghosting", "flare", "moire"].index(LABEL)
cache = PredictionCache(run / "cache", "ipad_clip")
rows = read_manifest(bench, "val")
neg0 = [cache.load(r.key).maps[C].astype(np.float32).ravel() for r in rows if r.label == "clean"]
items = []
for r in (r for r in rows if r.label == LABEL):
    m = cache.load(r.key).maps[C].astype(np.float32)
    mask = np.asarray(Image.open(r.mask).convert("L").resize(m.shape[::-1], Image.NEAREST))
    items.append((r.params, r.subtype, m[mask == 255], m[mask == 0]))
def au(sel):
    p = np.concatenate([i[2] for i in sel]); n = np.concatenate([i[3] for i in items] + neg0)
    return float(auroc(np.r_[p, n], np.r_[np.ones(p.size), np.zeros(n.size)]))
keys = sorted({k for i in items for k, v in i[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
print("all", round(au(items), 3), len(items))
for k in keys:
    vals = [(i[0].get(k), i) for i in items if isinstance(i[0].get(k), (int, float))]
    if len(vals) < 30: continue
    x = np.array([v for v, _ in vals]); q = np.quantile(x, [1/3, 2/3])
    out = []
    for lo, hi in ((-np.inf, q[0]), (q[0], q[1]), (q[1], np.inf)):
        sel = [i for v, i in vals if lo < v <= hi]
        out.append(f"<= {hi:.3g}: {au(sel):.3f} ({len(sel)})" if sel else "-")
    print(k, len(vals), " | ".join(out))
