"""One-off count (#25): how many training canvases show the moiré the maps miss? From the shards' metadata, the
moiré canvases by fineness of the main grating (period_px <= 6.3 px, the finest val quartile's bound) and by
chroma (< 0.5, grey-ish), with their median JOD (lower: more visible). Writes
``benchmarks/results/moire_draws.json``.

    python benchmarks/moire_draws.py SHARDS
"""

from __future__ import annotations

import json
import sys

import numpy as np
from common import write_results

from ipad_iqa.data.shards import ShardDataset

FINE_PX = 6.3
GREY_CHROMA = 0.5


def main() -> int:
    metas = [r.meta for r in ShardDataset(sys.argv[1]).records if r.meta["label"] == "moire"]
    fine = np.array([m["params"]["period_px"] <= FINE_PX for m in metas])
    grey = np.array([m["params"]["chroma"] < GREY_CHROMA for m in metas])
    jod = np.array([m["jod"] for m in metas])
    groups = {"fine, grey-ish": fine & grey, "fine, colourful": fine & ~grey, "coarser, grey-ish": ~fine & grey,
              "coarser, colourful": ~fine & ~grey}
    result = {"shards": sys.argv[1], "moire_canvases": len(metas),
              "groups": {k: {"n": int(g.sum()), "share": round(float(g.mean()), 3),
                             "median_jod": round(float(np.median(jod[g])), 2)} for k, g in groups.items()}}
    write_results("moire_draws", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
