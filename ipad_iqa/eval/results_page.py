"""The Results page of the docs, written from two finished evaluation reports: a benchmark split and real photos.

Every number on the page is read from the reports (``run.json``, ``metrics.json``, ``severity.json`` and the
cached fingerprints of ``ipad-iqa evaluate``), and the figures are the reports' own, so the page cannot
disagree with what was measured and is never edited by hand: ``make results`` reruns both evaluations and
this writer (through ``docs/scripts/make_results.py``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ipad_iqa.baselines import split_method
from ipad_iqa.baselines.pyiqa_global import GLOBAL_METRICS, is_full_reference
from ipad_iqa.eval.cache import PredictionCache
from ipad_iqa.eval.harness import MethodRun
from ipad_iqa.eval.report import (
    REAL_NOTES,
    SYNTH_NOTES,
    breakdown_tables,
    format_value,
    metric_tables,
    read_runs,
)
from ipad_iqa.output import ARTIFACT_CLASSES

SUMMARY_METRICS: tuple[str, ...] = ("pixel_auroc", "aupro", "image_auroc")  # one cell per class group


class ReportMismatch(ValueError):
    """The two reports cannot share a page: wrong kind, the default missing, or other weights."""


def _fingerprints(report: Path, methods: Sequence[str]) -> dict[str, str]:
    """What each method's predictions were made with, as the report's cache recorded it."""
    return {m: PredictionCache(report / "cache", m).recorded_fingerprint() or "unrecorded" for m in methods}


def _check(test: dict, real: dict, default: str, fingerprints: tuple[dict[str, str], dict[str, str]]) -> None:
    """Refuse reports of the wrong kind, without the default, or whose shared methods ran other weights."""
    if "benchmark" not in test:
        raise ReportMismatch("the test report was not made with `ipad-iqa evaluate --benchmark`")
    if "real" not in real:
        raise ReportMismatch("the real-photo report was not made with `ipad-iqa evaluate --real`")
    for name, info in (("test", test), ("real-photo", real)):
        if default not in info["methods"]:
            raise ReportMismatch(f"the {name} report has no {default!r}; it has {', '.join(info['methods'])}")
    for method in set(fingerprints[0]) & set(fingerprints[1]):
        if fingerprints[0][method] != fingerprints[1][method]:
            raise ReportMismatch(f"{method!r} ran with {fingerprints[0][method]} on the benchmark and "
                                 f"{fingerprints[1][method]} on the real photos; evaluate both with the same weights")


def _benchmark_spec(root: Path) -> str:
    """``benchmark.json`` in one line (its source list counted, not listed): what identifies the benchmark."""
    spec = json.loads((root / "benchmark.json").read_text())
    fields = [f"{k} {v if not isinstance(v, list) else ','.join(map(str, v))}" for k, v in spec.items()
              if k not in ("sources", "source_root")]
    return ", ".join([*fields, f"{len(spec['sources'])} source photos"])


def _joined(values: Sequence[float | None]) -> str:
    """``a / b / c``; one ``n/a`` where all are missing (a class the method does not address)."""
    return "n/a" if all(v is None for v in values) else " / ".join(format_value(v) for v in values)


def summary_table(test: Mapping[str, MethodRun], real: Mapping[str, MethodRun]) -> str:
    """Methods x (per class group: pixel AUROC / AUPRO / image AUROC; real-photo image AUROC; CPU time)."""
    groups = ("mean", *ARTIFACT_CLASSES)
    titles = [*groups, "`any` image AUROC", "real photos: image AUROC " + " / ".join(ARTIFACT_CLASSES),
              "CPU s / test image"]
    lines = ["| method | " + " | ".join(titles) + " |", "|---|" + "---:|" * len(titles)]
    for m in list(test) + [m for m in real if m not in test]:
        t = test[m].metrics if m in test else {}
        r = real[m].metrics if m in real else {}
        cells = [_joined([t.get(g, {}).get(k) for k in SUMMARY_METRICS]) for g in groups]
        cells += [format_value(t.get("any", {}).get("image_auroc")),
                  _joined([r.get(c, {}).get("image_auroc") for c in ARTIFACT_CLASSES]),
                  format_value(test[m].cpu_s_per_image if m in test else None)]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: The accuracy the default metric is built to reach, per artifact class: (report, metric, at least).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("test", "pixel_auroc", 0.95), ("test", "aupro", 0.75), ("test", "image_auroc", 0.95),
    ("real", "image_auroc", 1.0),  # every artifact photo ranked above every clean one
    ("real", "pair_win_rate", 1.0),  # every artifact photo above its own clean twin
)


def targets_table(test: MethodRun, real: MethodRun) -> str:
    """Per class, the default's value of each target metric, marked met or not (n/a: nothing to measure)."""
    header = [f"{where}: {metric} (≥ {goal:g})" for where, metric, goal in TARGETS]
    lines = ["| class | " + " | ".join(header) + " |", "|---|" + "---:|" * len(header)]
    for cls in ARTIFACT_CLASSES:
        cells = []
        for where, metric, goal in TARGETS:
            value = (test if where == "test" else real).metrics.get(cls, {}).get(metric)
            mark = "" if value is None else (" ✅" if value >= goal else " ❌")
            cells.append(format_value(value) + mark)
        lines.append(f"| {cls} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _needs_reference(method: str) -> bool:
    """Whether the method reads each image's clean twin, which no user has (pyiqa's full-reference metrics)."""
    base = split_method(method)[0]
    return base in GLOBAL_METRICS and is_full_reference(base)


def methods_table(test: Mapping[str, MethodRun], fingerprints: Mapping[str, str]) -> str:
    """What each method is, as the report recorded it: maps or not, classes addressed, reference, weights."""
    lines = ["| method | maps | classes | reads the clean twin | weights |", "|---|---|---|---|---|"]
    for m, run in test.items():
        lines.append(f"| {m} | {'yes' if run.has_maps else 'no'} | {', '.join(run.classes)} "
                     f"| {'yes' if _needs_reference(m) else 'no'} | {fingerprints[m]} |")
    return "\n".join(lines) + "\n"


def _real_counts(real: dict) -> str:
    """': 14 flare, 10 ghosting, ... and 6 clean references (every class's negatives)' from the report's
    label counts; reports written before they were recorded give nothing."""
    counts = real.get("n_per_label")
    if not counts:
        return ""
    artifacts = ", ".join(f"{n} {name}" for name, n in counts.items() if name != "clean")
    return f": {artifacts} and {counts.get('clean', 0)} clean references (the negatives of every class)"


def _limit_warning(test: dict, real: dict) -> str:
    """An admonition when either evaluation read only the first images (``--limit``)."""
    limited = [f"the {name} to its first {info['limit']} images" for name, info in
               (("benchmark split", test), ("real photos", real)) if info.get("limit")]
    if not limited:
        return ""
    return ('!!! warning "A limited run, not the results"\n    `--limit` cut ' + " and ".join(limited)
            + " (labels interleaved): these numbers check the pipeline, they do not measure the methods. "
            "Rerun `make results` without `LIMIT` for the page to quote.\n\n")


def copy_figures(report: Path, assets: Path) -> list[Path]:
    """The report's curves and grid into ``assets``, which holds nothing else, so no stale figure survives."""
    assets.mkdir(parents=True, exist_ok=True)
    for old in assets.glob("*.png"):
        old.unlink()
    names = sorted(p.name for p in report.glob("curves_*.png"))
    names += ["grid.png"] if (report / "grid.png").is_file() else []
    return [Path(shutil.copy2(report / n, assets / n)) for n in names]


def _caption(figure: Path) -> str:
    """Alt text of a figure written by ``report.plot_curves`` (``curves_<group>``) or ``report.plot_grid``."""
    if figure.stem.startswith("curves_"):
        return f"pixel and image ROC and PR curves, {figure.stem.removeprefix('curves_')}, every method"
    return "qualitative grid: the first image of each label, its ground truth and each method's map"


def results_page(test_report: Path, real_report: Path, page: Path, assets: Path, default: str,
                 command: str) -> str:
    """The page's markdown; copies the figures to ``assets`` (linked relative to ``page``).

    ``command`` is the command that wrote the page; the page names it with the two evaluation commands.
    """
    test_runs, test = read_runs(test_report)
    real_runs, real = read_runs(real_report)
    fingerprints = _fingerprints(test_report, list(test_runs)), _fingerprints(real_report, list(real_runs))
    _check(test, real, default, fingerprints)
    figures = copy_figures(test_report, assets)
    link = Path(os.path.relpath(assets, page.parent)).as_posix()
    # The folders of this machine are named as the Makefile's variables, which a reader sets to their own.
    folders = {test["benchmark"]: "BENCH", real["real"]: "REAL"}

    def user(command: str) -> str:
        return shlex.join(folders.get(arg, arg) for arg in shlex.split(command))

    parts = [
        "# Results\n",
        f"<!-- Written by `{user(command)}`; do not edit: rerun it (make results). -->\n",
        f"`{default}` against every other method below, on the {test['split']} split of an IPAD-Synth benchmark "
        "and on real photos. Every number comes from the two evaluation reports, written by the commands "
        "below; `make results BENCH=DIR REAL=DIR` runs all three.\n",
        _limit_warning(test, real),
        "| | |\n|---|---|",
        f"| benchmark | `BENCH` = `{Path(test['benchmark']).name}`: {_benchmark_spec(Path(test['benchmark']))} |",
        f"| split | `{test['split']}`, {test['n_samples']} images |",
        f"| real photos | `REAL` = `{Path(real['real']).name}`, {real['n_samples']} photos{_real_counts(real)} "
        "(image level: no masks) |",
        f"| `{default}` weights | {fingerprints[0][default]} |\n",
        "`BENCH` is a benchmark folder written by `ipad-iqa make-benchmark --clean-dir PHOTOS --out BENCH --splits "
        "test` ([Benchmark](benchmark.md)), `REAL` a folder of real photos (`ghosting/`, `flare/`, `moire/` and "
        "their clean references, `ipad-iqa evaluate --help`).\n",
        "```bash\n" + "\n".join(user(c) for c in [test["command"], real["command"], command]) + "\n```\n",
        "## Summary\n",
        "Benchmark cells: pixel AUROC / AUPRO / image AUROC of a class (`mean`: their mean over the three "
        "classes; `any`: every artifact image against the clean ones). Real photos: each class's photos "
        "against the clean references. `n/a`: the method gives no maps, or does not address the class. CPU "
        "time per image as measured while the benchmark was evaluated, on that machine and load.\n",
        summary_table(test_runs, real_runs),
        methods_table(test_runs, fingerprints[0]),
        "A method that reads the clean twin of each image (full reference) is an upper bound, not a "
        "competitor: no user has the twin.\n",
        f"## Targets of `{default}`\n",
        "Per class: the benchmark's pixel AUROC, AUPRO and image AUROC; on the real photos, every artifact photo "
        "ranked above every clean one (image AUROC 1) and above its own clean twin where it has one (`n/a`: no "
        "twin). A ❌ is a gap; what was measured about its cause is on the [Model card](model_card.md) and the "
        "[History](history.md) page.\n",
        targets_table(test_runs[default], real_runs[default]),
        f"## IPAD-Synth {test['split']} split\n",
        f"{SYNTH_NOTES}\n",
        metric_tables(test_runs),
        breakdown_tables({default: test_runs[default]}, "severity"),
        breakdown_tables({default: test_runs[default]}, "subtype"),
        "## Real photos\n",
        f"{REAL_NOTES}\n",
        metric_tables(real_runs),
        "## Curves and maps\n",
        *(f"![{_caption(f)}]({link}/{f.name})\n" for f in figures),
    ]
    return "\n".join(p for p in parts if p)

