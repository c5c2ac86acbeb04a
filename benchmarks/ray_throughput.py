"""Throughput and memory of `ipad-iqa score` in one process against `--engine ray` with 1 and 2 actors.

Usage:
  python benchmarks/ray_throughput.py                    # 40 synthetic 384x384 JPEGs, metric ipad_clip
  python benchmarks/ray_throughput.py --n 200 --size 512x512 --images-dir DIR

Each configuration runs the console script as its own process twice, on all images and on the first
``--warm`` of them; the difference of the two wall times is the scoring time of the other images, so start-up
(imports, the model, a local Ray cluster and its actors) drops out. Throughput per core divides by the cores
the scoring used: every core for the single process (torch uses them all), one per actor for Ray
(``--cpus-per-actor 1``). While Ray runs, the peak RSS (VmHWM) of every actor process is sampled from /proc.
The results files of every run must equal the single-process one byte for byte (checked, and recorded).
Writes benchmarks/results/ray_throughput.json; docs/scripts/make_scaling_table.py turns it into the table of
docs/scaling.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cli_soak import make_folder
from common import busy_training_run, parse_size, write_results

#: Process titles of Ray Data actors running ``map_batches`` (``ray::MapWorker(MapBatches(_BatchActor))``).
ACTOR_TITLE = "MapWorker("


def _peak_rss(pid: int) -> int:
    """VmHWM of process ``pid`` in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _actor_pids() -> list[int]:
    """Pids of the Ray Data actor processes on this machine, found by their process title."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if ACTOR_TITLE in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def timed_score(images: list[Path], csv: Path, engine: list[str], metric: str) -> dict[str, float | list[int]]:
    """Run `ipad-iqa score` on ``images``; its wall seconds, its peak RSS and that of each Ray actor."""
    exe = Path(sys.executable).parent / "ipad-iqa"
    cmd = [str(exe), "score", *map(str, images), "--metric", metric, "--out", str(csv), *engine]
    actors: dict[int, int] = {}
    driver = [0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def sample() -> None:
        while proc.poll() is None:
            driver[0] = max(driver[0], _peak_rss(proc.pid))
            for pid in _actor_pids():
                actors[pid] = max(actors.get(pid, 0), _peak_rss(pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return {"wall_s": wall, "driver_peak_rss_bytes": driver[0], "actor_peak_rss_bytes": sorted(actors.values())}


def measure(images: list[Path], warm: int, engine: list[str], cores: int, metric: str, tmp: Path,
            name: str) -> dict[str, object]:
    """Marginal images/s of one configuration (all images minus the first ``warm``), per core, and memory."""
    full = timed_score(images, tmp / f"{name}.csv", engine, metric)
    start = timed_score(images[:warm], tmp / f"{name}-warm.csv", engine, metric)
    rate = (len(images) - warm) / (full["wall_s"] - start["wall_s"])
    actor_rss = full["actor_peak_rss_bytes"]
    return {
        "engine": engine or ["--engine", "local"],
        "cores": cores,
        "wall_s": round(full["wall_s"], 2),
        "warm_run_s": round(start["wall_s"], 2),
        "images_per_s": round(rate, 3),
        "images_per_s_per_core": round(rate / cores, 3),
        "driver_peak_rss_gb": round(full["driver_peak_rss_bytes"] / 1e9, 3),
        "actor_peak_rss_gb": [round(b / 1e9, 3) for b in actor_rss],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="synthetic images to score")
    parser.add_argument("--size", default="384x384", help="their size, WxH")
    parser.add_argument("--warm", type=int, default=4, help="images of the start-up run (subtracted)")
    parser.add_argument("--images-dir", type=Path, help="score these images (sorted) instead of synthetic ones")
    parser.add_argument("--metric", default="ipad_clip")
    parser.add_argument("--out", default="ray_throughput")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no usage report over the network from the local clusters
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.images_dir is None:
            make_folder(tmp / "images", args.n, [parse_size(args.size)])
            images = sorted((tmp / "images").iterdir())
        else:
            images = sorted(p for p in args.images_dir.iterdir() if p.is_file())
        configs = {"local": ([], cores)}
        for actors in (1, 2):
            configs[f"ray_{actors}_actors"] = (["--engine", "ray", "--actors", str(actors),
                                                "--cpus-per-actor", "1"], actors)
        runs = {}
        for name, (engine, used) in configs.items():
            print(f"{name} ...", file=sys.stderr)
            runs[name] = measure(images, args.warm, engine, used, args.metric, tmp, name)
            runs[name]["rows_identical_to_local"] = (tmp / f"{name}.csv").read_bytes() == \
                (tmp / "local.csv").read_bytes()
        shutil.rmtree(tmp / "images", ignore_errors=True)
    write_results(args.out, {
        "n": len(images), "warm": args.warm, "size": args.size if args.images_dir is None else "given",
        "metric": args.metric, "training_run_sharing_cpu": busy_training_run(),
        "command": f"nice -n 19 python benchmarks/ray_throughput.py {' '.join(sys.argv[1:])}".strip(),
        "runs": runs,
    })


if __name__ == "__main__":
    main()
