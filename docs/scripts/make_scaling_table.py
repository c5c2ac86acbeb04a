"""Write docs/assets/scaling_table.md, the measured-throughput table of docs/scaling.md.

    python docs/scripts/make_scaling_table.py     # after: nice -n 19 python benchmarks/ray_throughput.py

The numbers come only from benchmarks/results/ray_throughput.json, so the page never carries hand-typed ones.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "benchmarks" / "results" / "ray_throughput.json"
TARGET = ROOT / "docs" / "assets" / "scaling_table.md"

LABELS = {"local": "single process (`--engine local`)", "ray_1_actors": "Ray, 1 actor",
          "ray_2_actors": "Ray, 2 actors"}


def render(result: dict) -> str:
    """The table and a line saying what it was measured on, under which load, by which command."""
    lines = [
        f"| run | cores used | images/s | images/s per core | wall of a {result['warm']}-image run (s) "
        "| peak RSS per actor (GB) "
        "| peak RSS of the command (GB) | rows = single process |",
        "|---|--:|--:|--:|--:|--:|--:|:-:|",
    ]
    for name, run in result["runs"].items():
        actors = ", ".join(f"{gb:.2f}" for gb in run["actor_peak_rss_gb"]) or "–"
        # Under heavy load the run on a few images can take longer than the full one: no rate then.
        rate, per_core = ((f"{run['images_per_s']:.2f}", f"{run['images_per_s_per_core']:.2f}")
                          if run["images_per_s"] > 0 else ("– (load)", "–"))
        lines.append(f"| {LABELS.get(name, name)} | {run['cores']} | {rate} "
                     f"| {per_core} | {run['warm_run_s']:.1f} | {actors} "
                     f"| {run['driver_peak_rss_gb']:.2f} | {'yes' if run['rows_identical_to_local'] else 'NO'} |")
    machine = result["machine"]
    load = (f"other processes used {result['foreign_cpu_share']:.0%} of the CPU"
            + (", a training run among them" if result["training_run_sharing_cpu"] else ""))
    lines += ["", f"{result['n']} images ({result['size']}), metric `{result['metric']}`, on {machine['cores']} "
              f"cores ({machine['cpu']}), {machine['date']}; {load}. Made by `{result['command']}`, then "
              "`python docs/scripts/make_scaling_table.py`."]
    return "\n".join(lines) + "\n"


def main() -> None:
    TARGET.write_text(render(json.loads(SOURCE.read_text())), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
