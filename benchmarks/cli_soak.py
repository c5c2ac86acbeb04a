"""Throughput and memory of the `ipad-iqa score` console script over a folder, sampled while it runs.

Usage:
  python benchmarks/cli_soak.py                                  # 2,000 images of 10 mixed sizes (soak test)
  python benchmarks/cli_soak.py --n 100 --sizes 1920x1080 --out cli_1080p
  python benchmarks/cli_soak.py --n 200 --sizes 512x512 --maps --out cli_512_maps

The images (synthetic photo-like JPEGs, sizes cycling through ``--sizes`` so that every window of
``--window`` images holds the same work) are written to a temporary folder, then
`ipad-iqa score FOLDER --out results.csv [--maps-dir DIR]` runs as its own process. Its progress bar gives
images done over time and /proc gives its resident memory, every ``--interval`` seconds. Writes
benchmarks/results/<out>.json: images/s per window, RSS over time, end-to-end images/s (start-up included)
and steady-state images/s (median window), the RSS trend in MB per 1,000 images after the first window.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import busy_training_run, parse_size, write_results
from PIL import Image

MIXED = "640x480,480x640,800x600,512x512,1024x768,400x300,720x540,960x640,300x400,1000x1000"
PROGRESS = re.compile(rb"(\d+)/(\d+) \[")


def _sizes(text: str) -> list[tuple[int, int]]:
    return [parse_size(s) for s in text.split(",")]


def make_folder(folder: Path, n: int, sizes: list[tuple[int, int]]) -> None:
    """n JPEGs, image i of size sizes[i % len(sizes)], content varying with i (gradients, edges, noise)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        rng = np.random.default_rng(i)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        f = rng.uniform(0.005, 0.05, 3)
        base = np.stack([np.sin(xx * f[c] + yy * f[(c + 1) % 3] + rng.uniform(0, 6)) for c in range(3)], -1)
        img = 110 + 90 * base + rng.normal(0, 12, (h, w, 3))
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        img[y0: y0 + h // 4, x0: x0 + w // 4] = rng.uniform(0, 255, 3)  # a flat object with sharp edges
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"img_{i:05d}.jpg", quality=90)


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def run_cli(folder: Path, out_csv: Path, maps_dir: Path | None, metric: str, interval: float) -> dict:
    """Run the console script; return its progress and memory samples and its peak RSS."""
    exe = Path(sys.executable).parent / "ipad-iqa"
    cmd = [str(exe), "score", str(folder), "--metric", metric, "--out", str(out_csv)]
    if maps_dir is not None:
        cmd += ["--maps-dir", str(maps_dir)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    progress: list[tuple[float, int]] = []
    memory: list[tuple[float, int]] = []
    tail = bytearray()

    def read_progress() -> None:
        buf = b""
        while chunk := os.read(proc.stderr.fileno(), 4096):
            now = time.perf_counter() - t0
            buf += chunk
            tail.extend(chunk)
            del tail[:-4000]
            *done, buf = re.split(rb"[\r\n]", buf)
            for piece in done:
                if m := PROGRESS.search(piece):
                    progress.append((now, int(m.group(1))))

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    while proc.poll() is None:
        memory.append((time.perf_counter() - t0, _rss(proc.pid)))
        time.sleep(interval)
    wall = time.perf_counter() - t0
    reader.join(timeout=5)
    if proc.returncode not in (0,):
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{tail.decode(errors='replace')}")
    return {"command": " ".join(["ipad-iqa", *cmd[1:]]), "wall_s": wall, "progress": progress,
            "rss": [(t, b) for t, b in memory if b]}


def analyse(run: dict, n: int, window: int) -> dict:
    """Images/s per window of ``window`` images, and the memory trend after the first window."""
    times = {}
    for t, done in run["progress"]:
        for k in range(0, n + 1, window):
            if done >= k and k not in times:
                times[k] = t
    marks = sorted(times)
    windows = [{"images": b, "images_per_s": (b - a) / (times[b] - times[a])}
               for a, b in zip(marks, marks[1:], strict=False) if b > a and times[b] > times[a]]
    rates = [w["images_per_s"] for w in windows]
    first_t = times.get(window, 0.0)
    late = [(t, b) for t, b in run["rss"] if t >= first_t]
    slope = float("nan")  # no trend without memory samples after the first window
    if len(late) > 2:
        # memory vs images done: interpolate progress at each memory sample
        prog_t, prog_n = zip(*run["progress"], strict=True)
        done = np.interp([t for t, _ in late], prog_t, prog_n)
        if done[-1] > done[0]:
            slope = float(np.polyfit(done, [b for _, b in late], 1)[0]) * 1000 / 1e6  # MB per 1000 images
    start = run["progress"][0][0] if run["progress"] else 0.0
    return {
        "windows": windows,
        "end_to_end_images_per_s": n / run["wall_s"],
        "steady_images_per_s": float(np.median(rates)) if rates else float("nan"),
        "first_window_images_per_s": rates[0] if rates else float("nan"),
        "last_window_images_per_s": rates[-1] if rates else float("nan"),
        "last_over_first": rates[-1] / rates[0] if len(rates) > 1 else float("nan"),
        "startup_s": start,
        "peak_rss_gb": max(b for _, b in run["rss"]) / 1e9,
        "rss_after_first_window_gb": late[0][1] / 1e9 if late else float("nan"),
        "rss_end_gb": run["rss"][-1][1] / 1e9,
        "rss_trend_mb_per_1000_images": slope,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="number of images")
    ap.add_argument("--sizes", default=MIXED, help="comma-separated WxH list, cycled")
    ap.add_argument("--window", type=int, default=100, help="images per throughput window")
    ap.add_argument("--maps", action="store_true", help="also write overlays (--maps-dir)")
    ap.add_argument("--metric", default="ipad_clip")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between memory samples")
    ap.add_argument("--folder", help="reuse (or create) this image folder instead of a temporary one")
    ap.add_argument("--out", default="cli_soak", help="results file name under benchmarks/results/")
    args = ap.parse_args()
    sizes = _sizes(args.sizes)
    contaminated = busy_training_run()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder) if args.folder else Path(tmp) / "images"
        if len(list(folder.glob("img_*.jpg"))) != args.n:
            t0 = time.perf_counter()
            make_folder(folder, args.n, sizes)
            print(f"wrote {args.n} images in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        run = run_cli(folder, Path(tmp) / "results.csv", Path(tmp) / "maps" if args.maps else None,
                      args.metric, args.interval)
        run["command"] = run["command"].replace(tmp, "$TMP")
    stats = analyse(run, args.n, args.window)
    print(f"{args.n} images: {stats['end_to_end_images_per_s']:.2f} img/s end to end, "
          f"{stats['steady_images_per_s']:.2f} img/s steady, last/first window {stats['last_over_first']:.3f}, "
          f"peak RSS {stats['peak_rss_gb']:.2f} GB, trend {stats['rss_trend_mb_per_1000_images']:+.1f} MB/1000 img",
          file=sys.stderr)
    mp = float(np.mean([w * h for w, h in sizes])) / 1e6
    write_results(args.out, {"n": args.n, "sizes": args.sizes, "mean_megapixels": mp, "maps": args.maps,
                             "metric": args.metric, "window": args.window,
                             "training_run_sharing_cpu": contaminated, **stats,
                             "command": run["command"],
                             "progress": run["progress"], "rss": run["rss"]})


if __name__ == "__main__":
    main()
