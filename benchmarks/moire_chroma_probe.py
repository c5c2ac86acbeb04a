"""Do the moiré maps miss grey and fine fringes? A controlled probe of a metric's moiré maps.

On the first N val photos (a 384-px canvas each), one moiré draw per photo with its free parameters kept
and these set: a plain grating over the whole frame (no row beat, no partial screen, no ISP blur), modulation
depth 0.25, then every combination of fringe period (4.5 px, fine; 12 px, coarse), chroma (0.2, grey-ish; 1.0,
rainbow) and the colour-filter-array step (off, on). Per variant: the mean P(moiré), the share of photos whose
highest class is moiré, and the median over photos of the moiré map's median over the frame minus that of the
clean canvas. The variants differ only in the set parameter, photo by photo. Writes
``benchmarks/results/moire_chroma_probe.json``.

    python benchmarks/moire_chroma_probe.py PHOTOS [--n 40] [--metric ipad_clip] [--weights W]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys

import numpy as np
import torch
from common import probe_metric, write_results
from PIL import Image

from ipad_iqa.data.pipeline import prepare_canvas
from ipad_iqa.data.sources import list_clean_pool
from ipad_iqa.data.synth.moire import MoireParams, synthesize

SIZE = 384
PERIODS = (4.5, 12.0)
CHROMAS = (0.2, 1.0)
CFAS = (False, True)
MOIRE = 2  # class index (ghosting, flare, moire)


def scores(metric: torch.nn.Module, image: np.ndarray) -> tuple[np.ndarray, float]:
    """Class probabilities and the median of the moiré map of one (H,W,3) image in [0, 1] (what the canvas and
    the synthesizer give)."""
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = metric(x, return_maps=True)
    return out.class_probs[0].numpy(), float(np.median(out.maps[0, MOIRE].numpy()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", help="a folder of clean photos (the val scenes are used)")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--metric", default="ipad_clip")
    ap.add_argument("--weights", help="trained weights for the metric (default: its registered ones)")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    metric = probe_metric(args)
    rows: dict[str, list[tuple[float, bool, float]]] = {}
    for i, path in enumerate(list_clean_pool(args.photos, "val")[:args.n]):
        rng = np.random.default_rng((54, i))
        canvas = prepare_canvas(np.asarray(Image.open(path).convert("RGB")), SIZE, rng)
        _, clean_level = scores(metric, canvas)
        base = dataclasses.replace(MoireParams.sample(rng), row_amount=0.0, local=False, isp_sigma=0.0, amplitude=0.25)
        for period, chroma, cfa in itertools.product(PERIODS, CHROMAS, CFAS):
            prm = dataclasses.replace(base, period_px=period, chroma=chroma, cfa=cfa)
            image = synthesize(canvas, np.random.default_rng(0), prm).image
            probs, level = scores(metric, image)
            rows.setdefault(f"period {period} px, chroma {chroma}, cfa {cfa}", []).append(
                (float(probs[MOIRE]), int(np.argmax(probs)) == MOIRE, level - clean_level))
    result = {"photos": args.n, "variants": {k: {"p_moire": round(float(np.mean([r[0] for r in v])), 3),
                                              "moire_highest": round(float(np.mean([r[1] for r in v])), 3),
                                              "median_map_rise": round(float(np.median([r[2] for r in v])), 3)}
                                          for k, v in rows.items()}}
    write_results("moire_chroma_probe", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
