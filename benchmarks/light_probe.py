"""Does the metric call a plain light flare? A probe of the flare class's false positives on clean images.

On the clean images of a benchmark split it records each image's largest saturated blob (linear luminance
>= ``LIGHT_LUMINANCE``, the test the flare synthesizer uses to find the lights of a photo) and the metric's P(flare), then
adds plain lights to every image (``SceneLights``, as IPAD-Synth v2 draws them: a sun or lamps, a saturated spot
shaped like a flare's core, no glare, streaks or ghosts) and scores it again. A detector of flare, not of
lights, leaves P(flare) where it was. Writes ``benchmarks/results/light_probe.json``.

    python benchmarks/light_probe.py BENCH [--split test] [--metric ipad_clip] [--weights W] [--seed 0]
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from common import probe_metric, probe_parser, write_results
from scipy import ndimage
from scipy.stats import spearmanr

from ipad_iqa.data.benchmark import read_manifest
from ipad_iqa.data.synth.common import LUMA, srgb_to_linear
from ipad_iqa.data.synth.flare import LIGHT_LUMINANCE, SceneLights
from ipad_iqa.io import load_image
from ipad_iqa.output import ARTIFACT_CLASSES

BLOB_BINS = ((0, 4, "no blob >= 4 px"), (4, 100, "largest blob 4-99 px"), (100, None, "largest blob >= 100 px"))


def largest_saturated_blob(lin: np.ndarray) -> int:
    labels, count = ndimage.label(lin @ LUMA >= LIGHT_LUMINANCE)
    return int(np.bincount(labels.ravel())[1:].max()) if count else 0


def group(rows: list[dict], key: str) -> dict[str, float]:
    p = np.array([r[key] for r in rows])
    return {"n": len(rows), "mean": round(float(p.mean()), 4), "share_above_0.5": round(float((p > 0.5).mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = probe_parser(__doc__)
    ap.add_argument("--seed", type=int, default=0, help="seed of the added lights")
    args = ap.parse_args(argv)
    rows = read_manifest(args.bench, split=args.split, labels=["clean"])
    if not rows:
        print(f"no clean {args.split} images in {args.bench}", file=sys.stderr)
        return 2
    metric = probe_metric(args)
    flare = ARTIFACT_CLASSES.index("flare")
    rng = np.random.default_rng(args.seed)
    records = []
    for row in rows:
        x = load_image(row.image)
        image = x.permute(1, 2, 0).numpy()
        lit = torch.from_numpy(SceneLights.sample(image, rng).add_to(image)).permute(2, 0, 1)
        lin = srgb_to_linear(image)
        with torch.no_grad():
            before, after = metric(torch.stack([x, lit]), return_maps=True).class_probs[:, flare].tolist()
        records.append({"image": row.key, "largest_blob_px": largest_saturated_blob(lin),
                        "p_flare": before, "p_flare_with_light": after})
    by_blob = {}
    for lo, hi, name in BLOB_BINS:
        sel = [r for r in records if r["largest_blob_px"] >= lo and (hi is None or r["largest_blob_px"] < hi)]
        if sel:
            by_blob[name] = {"before": group(sel, "p_flare"), "with_light": group(sel, "p_flare_with_light")}
    rho = spearmanr([r["largest_blob_px"] for r in records], [r["p_flare"] for r in records])
    data = {"benchmark": str(args.bench), "split": args.split, "metric": args.metric,
            "weights": args.weights or "registered", "seed": args.seed,
            "all": {"before": group(records, "p_flare"), "with_light": group(records, "p_flare_with_light")},
            "by_largest_blob": by_blob,
            "spearman_blob_vs_p_flare": {"rho": round(float(rho.statistic), 4), "p": float(rho.pvalue)},
            "images": records}
    for name, part in [("all clean", data["all"]), *by_blob.items()]:
        b, a = part["before"], part["with_light"]
        print(f"{name:24s} n={b['n']:3d}  P(flare) {b['mean']:.3f} -> {a['mean']:.3f} with plain lights; "
              f"share > 0.5 {b['share_above_0.5']:.2f} -> {a['share_above_0.5']:.2f}")
    print(f"Spearman(largest blob, P(flare)) = {rho.statistic:.3f} (p = {rho.pvalue:.1e})")
    write_results("light_probe", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
