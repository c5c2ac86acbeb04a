"""Experiment (stop 45): copy the artifact canvases of a shard folder with each one's clean twin beside it.

The twin is what the mask rule compared the canvas with (``clean_twin``: same photo, crop, lights and finishing
draws, no artifact), recomputed from the record's source and seed without the costly fade search. Clean canvases
are left out: in the paired design every clean view is a twin.

    python benchmarks/twin_shards.py SHARDS OUT --clean-dir PHOTOS [--workers 2]

OUT holds shard-NNNNN.tar with KEY.npy, KEY.mask.png, KEY.json and KEY.twin.npy per artifact sample.
"""

from __future__ import annotations

import argparse
import json
import tarfile
from multiprocessing import Pool
from pathlib import Path

from ipad_iqa.data.benchmark import discover_sources
from ipad_iqa.data.perceptual import clean_twin
from ipad_iqa.data.shards import _npy, _tar_bytes, shard_paths

LOADERS: dict = {}


def _twin_of(job: tuple[Path, dict]) -> tuple[str, bytes, int]:
    shard, spec = job
    members, n = [], 0
    with tarfile.open(shard) as tar:
        groups: dict[str, dict[str, bytes]] = {}
        for m in tar:
            key, _, ext = m.name.partition(".")
            groups.setdefault(key, {})[ext] = tar.extractfile(m).read()
    for key in sorted(groups):
        g = groups[key]
        meta = json.loads(g["json"])
        if "npy" not in g or meta["label"] == "clean":
            continue
        seed = (spec["seed"], 2, int(key), meta["source_attempt"])
        twin = clean_twin(LOADERS[meta["source"]](), meta["label"], seed, spec["size"]).image
        members += [(f"{key}.npy", g["npy"]), (f"{key}.mask.png", g["mask.png"]), (f"{key}.json", g["json"]),
                    (f"{key}.twin.npy", _npy(twin))]
        n += 1
    return shard.name, _tar_bytes(members), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shards")
    ap.add_argument("out")
    ap.add_argument("--clean-dir", required=True)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    spec = json.loads((Path(args.shards) / "spec.json").read_text())
    LOADERS.update(discover_sources(args.clean_dir)[0])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=False)
    (out / "spec.json").write_text(json.dumps(spec | {"twins_of": str(args.shards)}, indent=1) + "\n")
    with Pool(args.workers) as pool:
        for name, data, n in pool.imap(_twin_of, [(p, spec) for p in shard_paths(args.shards)]):
            (out / name).write_bytes(data)
            print(name, n, flush=True)


if __name__ == "__main__":
    main()
