"""Usage: python benchmarks/ghost_twin_maps.py BENCH EVAL_RUN [CHECKPOINT] (an evaluate --out folder of the weights (the shipped ones, or CHECKPOINT) on
BENCH's val split). Does each class's map respond to its artifact or to where artifacts are placed? Exploration.

For every val artifact image, the shipped weights' map of its class on the image's clean twin, cached as the
harness caches maps, is scored against the artifact's mask with the harness's pooling (255 pixels against 0
pixels of the class's images and every pixel of the clean images; 128 left out): the pixel AUROC that placement
and content alone earn, beside the images' own. Also per image: the share of mask pixels higher with the artifact
than without, the within-image pixel AUROC and the mean lift over the twin; and the spread of the class's map over
the clean images."""
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ipad_iqa.baselines import build_detector
from ipad_iqa.baselines.base import DetectorConfig
from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.io import load_image
from ipad_iqa.output import ARTIFACT_CLASSES


def au(p: list, n: list) -> float:
    return float(auroc(np.concatenate(p + n), np.r_[np.ones(sum(map(len, p))), np.zeros(sum(map(len, n)))]))


def main() -> None:
    bench, run = Path(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(2)
    cache = PredictionCache(run / "cache", "ipad_clip")
    twins = PredictionCache(Path(tempfile.mkdtemp()), "ipad_clip")
    det = build_detector("ipad_clip", DetectorConfig(checkpoint=sys.argv[3]) if len(sys.argv) > 3 else None)
    rows = read_manifest(bench, "val")
    clean = [cache.load(r.key).maps for r in rows if r.label == "clean"]
    out = {}
    for c, label in enumerate(ARTIFACT_CLASSES):
        acc: dict[str, dict[str, list]] = {}
        paired, within, lift = [], [], []
        for r in (r for r in rows if r.label == label):
            img = cache.load(r.key).maps[c].astype(np.float32)
            h, w = img.shape
            with torch.no_grad():
                pred = det.predict(load_image(r.reference)[None])
            twin = twins.store([r.key], pred, 0.0, 0.0)[0].maps[c].astype(np.float32)
            mask = np.asarray(Image.open(r.mask).convert("L").resize((w, h), Image.NEAREST))
            for name, x in (("with", img), ("twin", twin)):
                for key in ["all"] + ([r.subtype] if r.subtype else []):
                    d = acc.setdefault(key, {}).setdefault(name, [[], []])
                    d[0].append(x[mask == 255])
                    d[1].append(x[mask == 0])
            pos, neg = mask == 255, mask == 0
            if pos.any() and neg.any():
                paired.append(float((img[pos] > twin[pos]).mean()))
                within.append(float(auroc(np.r_[img[pos], img[neg]], np.r_[np.ones(pos.sum()), np.zeros(neg.sum())])))
                lift.append(float(img[pos].mean() - twin[pos].mean()))
        cn = [m[c].astype(np.float32).ravel() for m in clean]
        res = {k: {name: au(v[name][0], v[name][1] + cn) for name in ("with", "twin")} for k, v in acc.items()}
        allc = np.concatenate(cn)
        res["share_of_mask_pixels_higher_with_artifact_median"] = float(np.median(paired))
        res["within_image_pixel_auroc_median"] = float(np.median(within))
        res["mask_lift_over_twin_median"] = float(np.median(lift))
        res["clean_map_quantiles_50_90_99"] = [float(q) for q in np.quantile(allc, [0.5, 0.9, 0.99])]
        res["images"] = len(paired)
        out[label] = res
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
