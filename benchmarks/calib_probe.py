"""Usage: python benchmarks/calib_probe.py BENCH EVAL_RUN (an evaluate --out folder on BENCH's val split). Exploration (stop 46).
Would per-class calibration of the class probabilities make the highest class the right one more often?
Val split, shipped weights' cached predictions; 2-fold cross-validation by image."""
import sys
from pathlib import Path
import numpy as np
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.eval.cache import PredictionCache
bench, run = Path(sys.argv[1]), Path(sys.argv[2])
cache = PredictionCache(run / "cache", "ipad_clip")
rows = read_manifest(bench, "val")
C = ["ghosting", "flare", "moire"]
P = np.array([cache.load(r.key).class_probs for r in rows], np.float64)
y = np.array([C.index(r.label) if r.label in C else -1 for r in rows])
logit = np.log(np.clip(P, 1e-6, 1 - 1e-6) / np.clip(1 - P, 1e-6, 1))
def platt(x, t, iters=500):
    a, b = 1.0, 0.0
    for _ in range(iters):  # Newton steps on the logistic loss
        p = 1 / (1 + np.exp(-(a * x + b))); g = np.array([np.sum((p - t) * x), np.sum(p - t)])
        w = p * (1 - p); H = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-6 * np.eye(2)
        a, b = np.array([a, b]) - np.linalg.solve(H, g)
    return a, b
rng = np.random.default_rng(0); fold = rng.permutation(len(rows)) % 2
cal = np.zeros_like(P)
for f in (0, 1):
    tr, te = fold != f, fold == f
    for k in range(3):
        a, b = platt(logit[tr, k], (y[tr] == k).astype(float))
        cal[te, k] = 1 / (1 + np.exp(-(a * logit[te, k] + b)))
art = y >= 0
for name, Q in (("raw", P), ("calibrated", cal)):
    acc = np.mean(Q[art].argmax(1) == y[art])
    per = [np.mean(Q[y == k].argmax(1) == k) for k in range(3)]
    print(f"{name}: highest class right on {acc:.3f} of {art.sum()} artifact images (ghosting {per[0]:.3f}, flare {per[1]:.3f}, moire {per[2]:.3f}); "
          f"mean prob on clean images {Q[~art].mean(0).round(3).tolist()}")
