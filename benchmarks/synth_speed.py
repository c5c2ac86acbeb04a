"""Samples per second of each synthesizer and of IPADSynthDataset at 512 px, one process; markdown table.

Usage: python benchmarks/synth_speed.py [--size 512] [--n 20] [--clean-dir DIR]
Without --clean-dir, scikit-image samples (written to a temporary folder as JPEG) feed the dataset.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ipad_iqa.data.datasets import IPADSynthDataset, SynthDatasetConfig
from ipad_iqa.data.pipeline import prepare_canvas
from ipad_iqa.data.sources import SKIMAGE_SAMPLES, list_clean_pool, skimage_loader
from ipad_iqa.data.synth import SYNTHESIZERS
from ipad_iqa.data.synth.common import as_rgb
from ipad_iqa.output import ARTIFACT_CLASSES


def _rate(fn, n: int) -> float:
    fn(0)  # warm-up
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        fn(i)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--clean-dir", default=None)
    args = ap.parse_args()
    names = list(SKIMAGE_SAMPLES)[:6]
    canvases = [prepare_canvas(as_rgb(skimage_loader(n)()), args.size, np.random.default_rng(k))
                for k, n in enumerate(names)]
    rows = []
    for name in ARTIFACT_CLASSES:
        synth = SYNTHESIZERS[name]
        rate = _rate(lambda i, s=synth: s(canvases[i % len(canvases)], np.random.default_rng(i), None), args.n)
        rows.append((f"synthesize `{name}`", rate))
    with tempfile.TemporaryDirectory() as tmp:
        if args.clean_dir:
            paths = list_clean_pool(args.clean_dir)
        else:
            for n, c in zip(names, canvases, strict=True):
                Image.fromarray((c * 255).astype(np.uint8)).save(Path(tmp) / f"{n}.jpg", quality=92)
            paths = list_clean_pool(tmp)
        for lo, hi in ((512, 512), (256, 512)):
            cfg = SynthDatasetConfig(canvas_sizes=(min(lo, args.size), min(hi, args.size)), length=10**6)
            ds = IPADSynthDataset(paths, cfg)
            rows.append((f"IPADSynthDataset, canvas {cfg.canvas_sizes[0]}-{cfg.canvas_sizes[1]}, crop 224",
                         _rate(lambda i, d=ds: d[i], args.n)))
    print(f"| what ({args.size} px, 1 process) | samples/s |\n|---|---|")
    for what, rate in rows:
        print(f"| {what} | {rate:.1f} |")


if __name__ == "__main__":
    main()
