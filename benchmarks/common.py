"""Helpers shared by the benchmark scripts: timing, memory, machine description, results files.

The scripts are run by hand (``python benchmarks/<name>.py``); each writes one JSON file under
``benchmarks/results/`` and ``python benchmarks/report.py`` turns those files into the tables and plots of
docs/performance.md. Nothing here is imported by the package or the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def load_average() -> float:
    """1-minute load average: above the core count, other processes share the CPU and timings are slower."""
    return os.getloadavg()[0]


def machine() -> dict[str, object]:
    """What the numbers were measured on (written into every results file)."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_at_start": round(load_average(), 2),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds used by the whole machine, by this process and its waited-for children) so far."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    own = sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))
    return busy, own


_START = (time.perf_counter(), *_cpu_seconds())


def foreign_cpu_share() -> float:
    """Share of the machine's CPU time used by *other* processes since this script started (0 = idle machine).

    Above a few percent the timings of this run are slower than on an idle machine.
    """
    t0, busy0, own0 = _START
    busy, own = _cpu_seconds()
    capacity = (time.perf_counter() - t0) * (os.cpu_count() or 1)
    return max(0.0, (busy - busy0) - (own - own0)) / capacity


def busy_training_run() -> bool:
    """True while an ``ipad-iqa train`` process shares the CPU (then timings are contaminated)."""
    out = subprocess.run(["pgrep", "-f", "ipad-iqa train"], capture_output=True, text=True)
    return bool(out.stdout.strip())


def repeat(fn: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``runs`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Median, min, max and inter-quartile range of a list of seconds."""
    q = np.percentile(times, [25, 75]) if len(times) > 1 else (times[0], times[0])
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "iqr": float(q[1] - q[0]), "runs": len(times)}


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far: VmHWM of its own address space.

    Not ``ru_maxrss``: Linux carries that over from the parent's address space when a child is started with
    vfork + exec (as ``subprocess`` does), so a child of a big parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssSampler:
    """Background thread sampling this process's RSS every ``interval`` seconds: ``samples`` = [(t, bytes)]."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - self._t0, rss_bytes()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_child(args: list[str], timeout: float = 3600) -> dict:
    """Run ``python <args>`` in a fresh process and return the JSON object it prints last on stdout."""
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_results(name: str, data: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` (machine description added) and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    share = foreign_cpu_share()
    if share > 0.05:
        print(f"warning: other processes used {share:.0%} of the CPU during this run", file=sys.stderr)
    path.write_text(json.dumps({"machine": machine(), "foreign_cpu_share": round(share, 3), **data}, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return path


def probe_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments every false-positive probe takes: a benchmark folder, its split, the metric and its weights."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", help="a benchmark folder (ipad-iqa make-benchmark)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--metric", default="ipad_clip")
    ap.add_argument("--weights", help="trained weights for the metric (default: its registered ones)")
    return ap


def probe_metric(args: argparse.Namespace):
    """The probe's pyiqa metric on the CPU, with ``--weights`` as its head weights when given (pyiqa is imported
    here, not at the top: the start-up benchmark imports this module and must not pay for it)."""
    import pyiqa

    import ipad_iqa  # noqa: F401  (registers the metrics)

    extra = {"head_weights": args.weights} if args.weights else {}
    return pyiqa.create_metric(args.metric, device="cpu", **extra)


def parse_size(text: str) -> tuple[int, int]:
    """"WxH" (command-line form) -> (width, height)."""
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def synthetic_image(height: int, width: int, seed: int = 0):
    """A deterministic photo-like (1,3,H,W) float32 tensor in [0,1]: smooth gradients plus mild noise.

    Built in place, row block by row block, so that a 10000x8000 image costs its own 960 MB and no more.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.empty(1, 3, height, width)
    cols = torch.linspace(0, 1, width)
    step = 512
    for y0 in range(0, height, step):
        rows = torch.linspace(0, 1, height)[y0: y0 + step, None]
        block = x[0, :, y0: y0 + step]
        for c in range(3):
            block[c] = 0.5 + 0.3 * torch.sin(6.0 * (rows * (c + 1) + cols))
        block.add_(torch.rand(block.shape, generator=g), alpha=0.2).sub_(0.1).clamp_(0, 1)
    return x
