"""Evaluation outputs: metrics.json, run.json, markdown tables, a docs fragment, curve plots, a qualitative grid.

The docs' Results page is written from these outputs (``results_page``), never typed by hand. matplotlib is imported inside
the plotting functions only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ipad_iqa.data.benchmark import read_mask
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import EvalConfig, EvalItem, MethodRun
from ipad_iqa.io import load_image
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS

GROUP_ORDER: tuple[str, ...] = ("mean", *ARTIFACT_CLASSES, "any")


@dataclass(frozen=True)
class GridRow:
    """One row of the qualitative grid: the image, its ground truth and each method's map for its class."""

    title: str
    image: np.ndarray  # (H, W, 3) in [0, 1]
    truth: np.ndarray  # (H, W) float: 1 artifact, 0.5 the ignore band, 0 none
    maps: dict[str, np.ndarray]  # method -> (H, W) in [0, 1]


def format_value(value: float | None) -> str:
    """Scores with 3 decimals; counts (whole numbers such as ``n_pairs``) as integers."""
    if value is None:
        return "n/a"
    return str(int(value)) if isinstance(value, int) else f"{value:.3f}"


def metric_tables(runs: Mapping[str, MethodRun]) -> str:
    """One markdown table per class group (methods x metrics), then a timing table."""
    parts = []
    groups = [g for g in GROUP_ORDER if any(g in r.metrics for r in runs.values())]
    for group in groups:
        names = list(dict.fromkeys(m for r in runs.values() for m in r.metrics.get(group, {})))
        parts.append(f"### {group}\n")
        parts.append("| method | " + " | ".join(names) + " |")
        parts.append("|---|" + "---:|" * len(names))
        for method, run in runs.items():
            values = run.metrics.get(group, {})
            parts.append(f"| {method} | " + " | ".join(format_value(values.get(m)) for m in names) + " |")
        parts.append("")
    parts.append("### cost\n")
    parts.append("| method | CPU s / image | wall s / image | images | predicted | from cache | n/a (no reference) |")
    parts.append("|---|---:|---:|---:|---:|---:|---:|")
    for method, r in runs.items():
        parts.append(f"| {method} | {format_value(r.cpu_s_per_image)} | {format_value(r.wall_s_per_image)} "
                     f"| {r.n_images} | {r.n_predicted} | {r.n_cached} | {r.n_skipped} |")
    return "\n".join(parts) + "\n"


def breakdown_tables(runs: Mapping[str, MethodRun], by: str) -> str:
    """Per class, methods x groups (``by``: "severity" bins or artifact "subtype"s): pixel AUROC / AUPRO / image
    AUROC of the group's images against every clean image."""
    attr = f"by_{by}"
    runs = {m: r for m, r in runs.items() if getattr(r, attr)}
    if not runs:
        return ""
    parts = ["", f"### by {by}\n\n{BREAKDOWN_NOTES[by]}\n"]  # a blank line after the tables before it
    for cls in (c for c in ARTIFACT_CLASSES if any(c in getattr(r, attr) for r in runs.values())):
        # every group any method saw; a method that skipped images (full reference, n/a) may lack some, and
        # n_images is the data's: the largest count over the methods
        counts: dict[str, int] = {}
        for run in runs.values():
            for g, v in getattr(run, attr).get(cls, {}).items():
                counts[g] = max(counts.get(g, 0), v["n_images"])
        groups = list(counts)
        parts.append(f"#### {cls}\n")
        parts.append("| method | " + " | ".join(f"{g} (n={counts[g]})" for g in groups) + " |")
        parts.append("|---|" + "---:|" * len(groups))
        for method, run in runs.items():
            mine = getattr(run, attr).get(cls, {})  # a method that skipped a subtype's images (n/a) has none
            cells = [" / ".join(format_value(mine.get(g, {}).get(m))
                                for m in ("pixel_auroc", "aupro", "image_auroc")) for g in groups]
            parts.append(f"| {method} | " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts) + "\n"


# The breakdowns of a benchmark report (MethodRun.by_<name>, <name>.json), with how to read their tables.
BREAKDOWN_NOTES = {
    "severity": ("Each cell: pixel AUROC / AUPRO / image AUROC of the class-k images whose synthesis severity "
                 "lies in the bin, against every clean image (the protocol of the tables above, restricted); "
                 "`n` counts those images."),
    "subtype": ("Each cell: pixel AUROC / AUPRO / image AUROC of the class-k images of one subtype (the ghosting "
                "mode drawn: a moving object's double contours, a hand-shaken frame fused in highlights or "
                "shadows, an optical ghost of a bright object, a reflection in glass; a day or night flare), "
                "against every clean image; `n` counts those images."),
}
SYNTH_NOTES = ("Per class k: pixel metrics over images labelled k or clean (positives = class-k mask pixels); "
               "image metrics rank class-k images against clean ones by the class-k probability; `mean` averages "
               "the classes; `any` ranks all artifact images against clean ones by 1 - score. `n/a`: the method "
               "gives no maps (pixel metrics) or does not address the class.")
REAL_NOTES = ("Per class k, by the class-k probability: `image_auroc`/`image_ap` rank the class-k photos against "
              "the clean references; `image_auroc_vs_all` against every other photo (references and other "
              "classes); `pair_win_rate` is the share of (class-k photo, its own clean or defocused twin) pairs "
              "in which the photo gets the higher probability, over `n_pairs` pairs. `n/a`: the method does not "
              "address the class, or there are no pairs.")


def bootstrap_table(results: Mapping[str, Mapping[str, Mapping[str, float | int | None]]], first: str,
                    draws: int) -> str:
    """The paired-bootstrap differences (``eval.bootstrap.compare_cached``) of every method from ``first``."""
    if not results:
        return ""
    parts = [f"### difference from {first} (paired bootstrap, {draws} draws)\n",
             f"Per class: image AUROC of {first} and of the method (class-k photos against the clean references), "
             f"{first} minus the method and the 95 % interval of that difference, photos and references resampled "
             "with replacement. An interval spanning 0 is not evidence either way.\n",
             f"| method | class | photos / references | {first} | method | difference, 95 % interval |",
             "|---|---|---:|---:|---:|---|"]
    for method, classes in results.items():
        for cls, r in classes.items():
            interval = "n/a" if r["difference"] is None else f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"
            parts.append(f"| {method} | {cls} | {r['n_photos']} / {r['n_references']} | {format_value(r['first'])} | "
                         f"{format_value(r['second'])} | {interval} |")
    return "\n".join(parts) + "\n"


def skipped_section(skipped: Mapping[str, str]) -> str:
    """The methods of the standard comparison that did not run, each with what it needs."""
    if not skipped:
        return ""
    return "\n### not run\n\n" + "".join(f"* {m}: {reason}\n" for m, reason in skipped.items())


def report_markdown(runs: Mapping[str, MethodRun], command: str, title: str, real: bool = False) -> str:
    """A report's ``results.md``: what was run (exact command), how to read it, the tables."""
    notes = REAL_NOTES if real else SYNTH_NOTES
    return (f"# {title}\n\nProduced by:\n\n```bash\n{command}\n```\n\n{notes}\n\n{metric_tables(runs)}"
            f"{breakdown_tables(runs, 'severity')}{breakdown_tables(runs, 'subtype')}")


def write_json(runs: Mapping[str, MethodRun], out: Path, info: dict) -> None:
    """``metrics.json`` (method -> class -> metric), ``severity.json`` and ``subtype.json`` (method -> class ->
    severity bin or subtype -> metric; benchmark runs) and ``run.json`` (command, timing, counts)."""
    (out / "metrics.json").write_text(json.dumps({m: r.metrics for m, r in runs.items()}, indent=2))
    for by in BREAKDOWN_NOTES:
        if any(getattr(r, f"by_{by}") for r in runs.values()):
            (out / f"{by}.json").write_text(json.dumps({m: getattr(r, f"by_{by}") for m, r in runs.items()}, indent=2))
    info = info | {"methods": {m: {"cpu_s_per_image": r.cpu_s_per_image, "wall_s_per_image": r.wall_s_per_image,
                                   "n_images": r.n_images, "n_predicted": r.n_predicted, "n_cached": r.n_cached,
                                   "n_skipped": r.n_skipped, "has_maps": r.has_maps, "classes": list(r.classes)}
                               for m, r in runs.items()}}
    (out / "run.json").write_text(json.dumps(info, indent=2))


def read_runs(out: Path) -> tuple[dict[str, MethodRun], dict]:
    """The runs (curves aside) and the ``run.json`` info that :func:`write_json` left in ``out``.

    Lets a page be written from finished reports without predicting again, and with the same tables as the
    report itself.
    """
    info = json.loads((out / "run.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    severity, subtype = ({} if not (out / f"{by}.json").is_file() else json.loads((out / f"{by}.json").read_text())
                      for by in BREAKDOWN_NOTES)
    runs = {}
    for method, m in info["methods"].items():
        runs[method] = MethodRun(
            metrics=metrics[method], by_severity=severity.get(method, {}), by_subtype=subtype.get(method, {}),
            cpu_s_per_image=m["cpu_s_per_image"],
            wall_s_per_image=m["wall_s_per_image"], n_images=m["n_images"], n_predicted=m["n_predicted"],
            n_cached=m["n_cached"], n_skipped=m["n_skipped"], has_maps=m["has_maps"], classes=tuple(m["classes"]))
    return runs, info


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(runs: Mapping[str, MethodRun], out: Path) -> list[Path]:
    """One PNG per class: pixel ROC, pixel PR, image ROC, image PR, one line per method.

    A method keeps its line style in every panel and figure, so that it can be followed across them; panels
    without any curve (pixel panels of ``any``, of methods without maps) are left out.
    """
    plt = _pyplot()
    # ten distinct colours, then the same colours dashed and dotted
    styles = {m: (plt.get_cmap("tab10")(i % 10), ("-", "--", ":")[i // 10 % 3]) for i, m in enumerate(runs)}
    written = []
    panels = [("pixel", "fpr", "tpr", "pixel ROC"), ("pixel", "recall", "precision", "pixel PR"),
              ("image", "fpr", "tpr", "image ROC"), ("image", "recall", "precision", "image PR")]
    for group in (*ARTIFACT_CLASSES, "any"):
        drawn = [(panel, [(m, pts) for m, run in runs.items()
                          if (pts := run.curves.get(group, {}).get(panel[0], {}))
                          and group in (*run.classes, "any") and (panel[0] == "image" or run.has_maps)])
                 for panel in panels]
        drawn = [(panel, lines) for panel, lines in drawn if lines]
        if not drawn:
            continue
        fig, axes = plt.subplots(1, len(drawn), figsize=(4 * len(drawn), 4), squeeze=False)
        for ax, ((_, x, y, title), lines) in zip(axes[0], drawn, strict=True):
            for method, pts in lines:
                ax.plot(pts[x], pts[y], label=method, color=styles[method][0], linestyle=styles[method][1])
            ax.set(title=f"{group}: {title}", xlabel=x, ylabel=y, xlim=(0, 1), ylim=(0, 1.02))
            ax.legend(fontsize=7)
        path = out / f"curves_{group}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def plot_grid(rows: Sequence[GridRow], path: Path) -> Path:
    """Image | ground truth | one column per method."""
    plt = _pyplot()
    methods = list(rows[0].maps) if rows else []
    ncols = 2 + len(methods)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(2.4 * ncols, 2.4 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        panels = [(row.image, None, row.title), (row.truth, "gray", "ground truth")]
        panels += [(row.maps[m], "inferno", m) for m in methods]
        for ax, (img, cmap, title) in zip(axes[r], panels, strict=True):
            ax.imshow(img, cmap=cmap, vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def grid_rows(samples: Sequence[EvalItem], runs: Mapping[str, MethodRun], config: EvalConfig) -> list[GridRow]:
    """The first sample of each label (artifact classes first), with every method's cached map for it."""
    rows = []
    for label in (1, 2, 3, 0):
        s = next((s for s in samples if s.label == label), None)
        if s is None:
            continue
        image = load_image(s.path).permute(1, 2, 0).numpy()
        size = image.shape[:2]
        visible, ignore = read_mask(s.mask) if s.mask else (np.zeros(size, bool), np.zeros(size, bool))
        truth = visible + 0.5 * ignore
        maps = {}
        for method, run in runs.items():
            cache = PredictionCache(config.out / "cache", method, config.map_side)
            if not (run.has_maps and cache.has(s.key)):
                continue
            m = cache.load(s.key).maps_at(size)
            maps[method] = m[label - 1] if label else m.max(0)
        rows.append(GridRow(title=f"{LABELS[label]}: {Path(s.key).name}", image=image, truth=truth, maps=maps))
    methods = [m for m in runs if all(m in r.maps for r in rows)]
    return [GridRow(r.title, r.image, r.truth, {m: r.maps[m] for m in methods}) for r in rows]
