"""Usage: python benchmarks/strength_probe.py PHOTOS OUT.json [N] [WEIGHTS]. Exploration (stop 47): IPAD-Synth v2
draws severities in [0, 1], image JOD 9.7 down to 7.5 ("strong"); real artifact photos are often stronger. Does the
model still name a class it was trained on when the artifact is stronger than any it saw? The first N val-scene
photos of PHOTOS, each class at severities 0.5, 1, 1.5 and 2 (JOD 8.6, 7.5, 6.4, 5.3; the fade solves for the
target as in the benchmark; ghosting in v1's modes, no reflections), scored by ipad_clip (or WEIGHTS): mean
P(own class), share of images whose highest class is their own, mean achieved JOD."""
import json
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ipad_iqa.data.perceptual import InvisibleArtifactError, one_thread_per_process, render_visible_sample
from ipad_iqa.data.sources import list_clean_pool

CLASSES = ("ghosting", "flare", "moire")
SEVERITIES = (0.5, 1.0, 1.5, 2.0)
SIZE = 384


def render(job: tuple[str, int, str, float]):
    path, i, label, sev = job
    one_thread_per_process()
    photo = np.asarray(Image.open(path).convert("RGB"))
    try:
        s = render_visible_sample(photo, label, (47, i, CLASSES.index(label)), SIZE, (sev, sev))
    except InvisibleArtifactError:
        return job, None, None
    return job, s.image, s.jod


def main() -> None:
    photos, out = Path(sys.argv[1]), Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    weights = sys.argv[4] if len(sys.argv) > 4 else None
    files = list_clean_pool(photos, "val")[:n]
    jobs = [(str(f), i, c, s) for i, f in enumerate(files) for c in CLASSES for s in SEVERITIES]
    with Pool(2) as pool:
        rendered = pool.map(render, jobs)
    from ipad_iqa.baselines import DetectorConfig, build_detector

    torch.set_num_threads(2)
    det = build_detector("ipad_clip", DetectorConfig(checkpoint=weights))
    rows = []
    for (path, i, label, sev), image, jod in rendered:
        if image is None:
            rows.append({"photo": i, "label": label, "severity": sev, "failed": True})
            continue
        x = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
        with torch.no_grad():
            p = det.predict(x).class_probs[0].numpy()
        rows.append({"photo": i, "label": label, "severity": sev, "jod": jod, "probs": p.round(4).tolist()})
    summary = {}
    for c in CLASSES:
        for s in SEVERITIES:
            ok = [r for r in rows if r["label"] == c and r["severity"] == s and not r.get("failed")]
            k = CLASSES.index(c)
            summary[f"{c}@{s}"] = {
                "n": len(ok), "failed": sum(1 for r in rows if r["label"] == c and r["severity"] == s) - len(ok),
                "jod": round(float(np.mean([r["jod"] for r in ok])), 2) if ok else None,
                "p_own": round(float(np.mean([r["probs"][k] for r in ok])), 3) if ok else None,
                "own_highest": round(float(np.mean([int(np.argmax(r["probs"])) == k for r in ok])), 3) if ok else None,
                "mean_probs": np.mean([r["probs"] for r in ok], 0).round(3).tolist() if ok else None}
            print(c, s, summary[f"{c}@{s}"], flush=True)
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
