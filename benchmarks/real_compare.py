"""Is a difference between two trained weights on the real photos more than chance? The paired bootstrap of the
image AUROC (``ipad_iqa.eval.bootstrap``) over two evaluations of one method on the same photos, one per weights
file (``ipad-iqa evaluate --real REAL --methods M --checkpoint M=W --out DIR``): per class, the first
evaluation's AUROC minus the second's with its 95 % interval. The real sets are small (6 clean references here),
so an interval spanning zero is common and is no evidence either way. Writes
``benchmarks/results/real_compare_<NEW folder name>.json``.

    python benchmarks/real_compare.py REAL NEW_EVAL OLD_EVAL [--method ipad_clip] [--old-method M] [--draws 2000]

``--old-method`` names the second evaluation's method when it differs, e.g. weights trained with other arch
options, evaluated as ``ipad_clip[moire_cue=false]``, against the shipped ``ipad_clip``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import write_results

from ipad_iqa.eval.bootstrap import compare_caches
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import real_items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("real", type=Path, help="the real-photo folder both evaluations scored")
    ap.add_argument("new", type=Path, help="evaluate --out folder of the weights under test")
    ap.add_argument("old", type=Path, help="evaluate --out folder of the weights compared against")
    ap.add_argument("--method", default="ipad_clip", help="the method both evaluations ran (or the first's)")
    ap.add_argument("--old-method", help="the second evaluation's method, when it differs from --method")
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args(argv)
    items = real_items(args.real)
    methods = {"new": args.method, "old": args.old_method or args.method}
    caches = {}
    for name, method in methods.items():
        cache = PredictionCache(getattr(args, name) / "cache", method)
        missing = [s.key for s in items if not cache.has(s.key)]
        if missing:
            print(f"error: {cache.dir} has no prediction for {len(missing)} of the {len(items)} photos of "
                  f"{args.real} (first: {missing[0]}); evaluate {method} on the same folder, or name the "
                  f"method it ran (--method, --old-method)", file=sys.stderr)
            return 2
        caches[name] = cache
    result = {"real": str(args.real), "new": str(args.new), "old": str(args.old), "method": methods["new"],
              "old_method": methods["old"], "draws": args.draws,
              "classes": compare_caches(items, caches, args.draws)["old"]}
    write_results(f"real_compare_{args.new.name}", result)
    print(json.dumps(result["classes"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
