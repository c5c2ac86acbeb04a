"""Turn benchmarks/results/*.json into the tables and plots of docs/performance.md.

Usage: python benchmarks/report.py
Each table replaces the text between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` in
docs/performance.md (the prose around them is kept); plots go to docs/assets/performance/. A results file
that does not exist leaves its table as it is.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable

from common import RESULTS, ROOT

PAGE = ROOT / "docs" / "performance.md"
ASSETS = ROOT / "docs" / "assets" / "performance"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _machine(data: dict) -> str:
    m = data["machine"]
    share = data.get("foreign_cpu_share", 0.0)
    note = ""
    if data.get("training_run_sharing_cpu") or share > 0.05:
        note = f" **(other processes used {share:.0%} of the CPU during the run: timings too slow)**"
    return (f"*{m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads, torch {m['torch']}, "
            f"{m['date']}, load average {m['load_average_at_start']} at start*{note}")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


TARGETS = {(512, 512): 0.25, (1920, 1080): 1.5}


def table_latency(d: dict) -> str:
    rows = []
    for r in d["latency"]:
        target = TARGETS.get((r["width"], r["height"]))
        ok = "" if target is None else (" ✅" if r["maps_s"]["median"] <= target else " ❌") + f" (≤ {target} s)"
        rows.append([f"{r['width']}x{r['height']}", f"{r['mp']:.2f}", _ms(r["score_s"]["median"]),
                     _ms(r["maps_s"]["median"]) + ok, f"{r['maps_s']['median'] / r['mp']:.2f}"])
    return _table(["image (WxH)", "MP", "`metric(x)`", "`metric(x, return_maps=True)`", "s/MP (maps)"], rows)


def table_per_mp(d: dict) -> str:
    rows = [[f"{r['width']}x{r['height']}", f"{r['mp']:.2f}", str(r["views"]), _ms(r["seconds"]["median"]),
             f"{r['s_per_mp']:.3f}", f"{r['s_per_view'] * 1000:.1f}"] for r in d["per_mp"]]
    return _table(["image (WxH)", "MP", "views (tiles + global)", "`metric(x)`", "s/MP", "ms per view"], rows)


def table_overhead(d: dict) -> str:
    rows = [[f"{r['width']}x{r['height']}", str(r["views"]), _ms(r["backbone_s"]["median"]),
             _ms(r["full_s"]["median"]), f"{r['ratio']:.3f}" + (" ✅" if r["ratio"] <= 1.25 else " ❌"),
             _ms(r["score_only_s"]["median"]), f"{r['ratio_score_only']:.3f}"] for r in d["overhead"]]
    return _table(["image (WxH)", "views", "bare backbone", "IPAD-CLIP (maps)", "ratio (≤ 1.25)",
                   "IPAD-CLIP (score only)", "ratio"], rows)


def table_models(d: dict) -> str:
    rows = []
    for r in d["models"]:
        lat = {(x["width"], x["height"]): x["seconds"]["median"] for x in r["latency"]}
        rows.append([f"`{r['variant']}`", f"{r['params'] / 1e6:.2f} M", f"{r['trainable_params'] / 1e6:.2f} M",
                     f"{r['image_tower_params'] / 1e6:.2f} M", _ms(lat.get((224, 224), float("nan"))),
                     _ms(lat.get((1920, 1080), float("nan")))])
    return _table(["variant", "parameters", "trainable", "image tower", "224x224", "1920x1080"], rows)


def table_startup(d: dict) -> str:
    names = {"import_torch": "`import torch`", "import_pyiqa": "`import pyiqa`",
             "import_ipad_iqa": "`import ipad_iqa` (open_clip, registration)",
             "create_metric": "`pyiqa.create_metric(\"ipad_clip\")`", "first_call": "first call, 512x512",
             "second_call": "second call, 512x512"}
    rows = [[names[k], _ms(v["median"])] for k, v in d["stages"].items()]
    rows.append(["whole process: `python -c \"import ipad_iqa, pyiqa; pyiqa.create_metric('ipad_clip')\"`",
                 _ms(d["process_wall"]["median"])])
    return _table(["stage (fresh process)", f"median of {d['runs']}"], rows)


def table_memory(d: dict) -> str:
    rows = [[f"`{c['case']}`", f"{c['peak_rss_gb']:.2f} GB" + ("" if c["case"] == "runtime" else
             (" ✅" if c["peak_rss_gb"] <= d["limit_gb"] else " ❌")), _ms(c["seconds"])] for c in d["cases"]]
    return _table([f"case ({d['width']}x{d['height']}, `{d['metric']}`)", f"peak RSS (≤ {d['limit_gb']} GB)",
                   "time of the call"], rows)


def table_hotspots(d: dict) -> str:
    rows = [[f"`{r['op']}`", str(r["calls"]), f"{r['self_ms_per_call']:.1f} ms", f"{r['self_share']:.1%}"]
            for r in d["ops"]]
    call = "metric(x, return_maps=True)" if d["maps"] else "metric(x)"
    return (f"`{call}` on {d['width']}x{d['height']}, {d['runs']} profiled calls: "
            f"{d['total_self_ms_per_call']:.0f} ms of CPU time per call in all.\n\n"
            + _table(["operator", "calls per image", "self CPU per image", "share"], rows))


def table_gpu(d: dict) -> str:
    lat = _table(["image (WxH)", "`metric(x)`", "`metric(x, return_maps=True)`", "peak GPU memory"],
                 [[f"{r['width']}x{r['height']}", _ms(r["score_s"]["median"]), _ms(r["maps_s"]["median"]),
                   f"{r['peak_gpu_gb']:.2f} GB"] for r in d["latency"]])
    sweep = _table(["batch size", f"images/s ({d['batch_sweep'][0]['side']} px)", "peak GPU memory"],
                   [[str(r["batch_size"]), f"{r['images_per_s']:.1f}", f"{r['peak_gpu_gb']:.2f} GB"]
                    for r in d["batch_sweep"]])
    return f"GPU: {d['device']}\n\n{lat}\n\n{sweep}"


def _ratio(value: float) -> str:
    return "–" if value != value else f"{value:.2f}"  # NaN: a single window


def _trend(d: dict) -> str:
    """RSS trend after the first window; a run of one window has none (its stored 0 is no measurement)."""
    value = d["rss_trend_mb_per_1000_images"]
    return "–" if value != value or d["n"] <= d["window"] else f"{value:+.0f}"


def table_cli(_: dict) -> str:
    rows = []
    for path in sorted(RESULTS.glob("cli_*.json")):
        d = json.loads(path.read_text())
        if d.get("foreign_cpu_share", 0.0) > 0.05:
            print(f"note: {path.name} was measured while other processes used "
                  f"{d['foreign_cpu_share']:.0%} of the CPU", file=sys.stderr)
        rows.append([f"`{path.stem}`", str(d["n"]), f"{d['mean_megapixels']:.2f}", "yes" if d["maps"] else "no",
                     f"{d['end_to_end_images_per_s']:.2f}", f"{d['steady_images_per_s']:.2f}",
                     _ratio(d["last_over_first"]), f"{d['peak_rss_gb']:.2f} GB",
                     _trend(d), f"{d.get('foreign_cpu_share', 0.0):.0%}"])
    return _table(["run", "images", "mean MP", "overlays", "img/s end to end", "img/s steady",
                   "last / first window", "peak RSS", "RSS trend (MB / 1000 img)", "CPU used by others"], rows)


def plot_per_mp(d: dict) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    mp = [r["mp"] for r in d["per_mp"]]
    ax.plot(mp, [r["s_per_mp"] for r in d["per_mp"]], "o-")
    for r in d["per_mp"]:
        ax.annotate(f"{r['width']}x{r['height']}", (r["mp"], r["s_per_mp"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("megapixels (log)")
    ax.set_ylabel("seconds per MP")
    ax.set_title("ipad_clip on CPU: seconds per megapixel", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(ASSETS / "seconds_per_mp.png", dpi=120)
    plt.close(fig)


def plot_memory(d: dict) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for c in d["cases"]:
        t, gb = zip(*c["rss_series"], strict=True)
        ax.plot(t, gb, label=c["case"], lw=1.2)
    ax.axhline(d["limit_gb"], color="k", ls="--", lw=0.8, label=f"{d['limit_gb']} GB")
    ax.set_xlabel("seconds since process start")
    ax.set_ylabel("RSS (GB)")
    ax.set_title(f"{d['width']}x{d['height']} image, {d['metric']}, one fresh process per case", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(ASSETS / "memory_large_image.png", dpi=120)
    plt.close(fig)


def plot_soak(d: dict) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 4.6), sharex=True)
    w = d["windows"]
    a1.plot([x["images"] for x in w], [x["images_per_s"] for x in w], "o-", ms=3)
    a1.set_ylim(0, max(x["images_per_s"] for x in w) * 1.2)
    a1.set_ylabel(f"images/s\n(per {d['window']} images)")
    a1.grid(alpha=0.3)
    prog_t, prog_n = zip(*d["progress"], strict=True)
    t, b = zip(*d["rss"], strict=True)
    done = np.interp(t, prog_t, prog_n, left=0)
    a2.plot(done, np.asarray(b) / 1e9, lw=1)
    a2.set_ylim(0, max(b) / 1e9 * 1.2)
    a2.set_ylabel("RSS (GB)")
    a2.set_xlabel("images scored")
    a2.grid(alpha=0.3)
    a1.set_title(f"ipad-iqa score over {d['n']} images ({d['sizes'].count(',') + 1} sizes, "
                 f"mean {d['mean_megapixels']:.2f} MP)", fontsize=10)
    fig.tight_layout()
    fig.savefig(ASSETS / "cli_soak.png", dpi=120)
    plt.close(fig)


def table_train_throughput(d: dict) -> str:
    data = d["data_only_samples_s"]
    rows = []
    for name, m in d["models"].items():
        ok = " ✅" if m["ratio"] >= d["target_ratio"] else " ❌"
        rows += [[f"`{name}`", "v1: synthesized on the fly", f"{m['v1_on_the_fly_samples_s']:.1f}", "1.00",
                  f"{data['v1_on_the_fly']:.1f}"],
                 [f"`{name}`", "v2: read from shards", f"{m['v2_shards_samples_s']:.1f}",
                  f"{m['ratio']:.2f}{ok} (≥ {d['target_ratio']:.0f})", f"{data['v2_shards']:.1f}"]]
    note = (f"*{d['steps']} steps of batch {d['batch']} in {d['precision']}, {d['threads']} torch threads, "
            f"{d['workers']} data-loader worker{'s' if d['workers'] != 1 else ''}, each model from random weights*\n\n")
    return note + _table(["model", "data source", "training samples/s", "ratio", "data alone: samples/s"], rows)


def table_train_profile(d: dict) -> str:
    note = (f"*one step of `{d['recipe']}`: batch {d['batch']} in {d['precision']}, {d['threads']} torch threads, "
            f"mean of {d['timed_steps']} steps: {d['step_s']:.2f} s ({d['samples_per_s']:.1f} samples/s, data "
            f"not included)*\n\n")
    phases = _table(["phase", "seconds", "share"],
                    [[p, f"{v:.3f}", f"{d['phase_share'][p]:.0%}"] for p, v in d["phases_s"].items()])
    ops = _table(["operator (one profiled step)", "calls", "share of CPU time"],
                 [[f"`{o['op']}`", str(o["calls"]), f"{o['self_cpu_share']:.1%}"] for o in d["top_ops"]])
    return note + phases + "\n\n" + ops


SECTIONS: dict[str, tuple[str, Callable[[dict], str], Callable[[dict], None] | None]] = {
    "latency": ("latency", table_latency, None),
    "per_mp": ("latency", table_per_mp, plot_per_mp),
    "overhead": ("latency", table_overhead, None),
    "models": ("latency", table_models, None),
    "startup": ("startup", table_startup, None),
    "memory": ("memory", table_memory, plot_memory),
    "cli": ("cli_soak", table_cli, plot_soak),
    "hotspots": ("hotspots", table_hotspots, None),
    "gpu": ("gpu", table_gpu, None),
    "train_throughput": ("train_throughput", table_train_throughput, None),
    "train_profile": ("train_profile", table_train_profile, None),
}


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    page = PAGE.read_text()
    for name, (source, table, plot) in SECTIONS.items():
        data = _load(source)
        pattern = re.compile(rf"(<!-- results:{name} -->\n).*?(<!-- /results:{name} -->)", re.S)
        if data is None or not pattern.search(page):
            print(f"skipped {name} (no results/{source}.json or no marker)", file=sys.stderr)
            continue
        if name == "latency" or source != "latency":
            body = f"{_machine(data)}\n\n{table(data)}\n"
        else:
            body = f"{table(data)}\n"
        page = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), page)
        if plot is not None:
            plot(data)
    PAGE.write_text(page)
    print(f"updated {PAGE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
