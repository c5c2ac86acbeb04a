"""Audit a benchmark's masks against the visibility predictor: do they mark what a viewer can see?

For every artifact image the predictor (ColorVideoVDP, ``ipad_iqa.data.perceptual``) is run again against its
clean twin (the manifest's reference) and compared with the stored mask:

* ``precision``: share of mask pixels (v2: the 255 level) the predictor calls visible (>= 1 JND);
* ``coverage``: share of clearly visible pixels (>= 2 x the rule's visible threshold) covered by the mask
  (v2: 255 or 128);
* ``invisible``: artifact images with no visible pixel at all, or an image JOD above the just-noticeable level;
* the image JOD per class (quartiles) and, per severity third, JOD and visible area.

Targets of IPAD-Synth v2 (issue: perceptual ground truth): precision >= 0.95 and coverage >= 0.95 per class,
no invisible sample, class JOD medians within 0.5. Writes ``benchmarks/results/mask_audit_<name>.json`` and the
tables as ``docs/assets/benchmark/mask_audit_<name>.md`` (included by the Benchmark page); exit 1 if a v2
benchmark misses a target.

    python benchmarks/mask_audit.py BENCH [--split test] [--name v2] [--tables-only]

``--tables-only`` rewrites the tables from the stored JSON (no prediction), e.g. after a change of their layout.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ipad_iqa.data.benchmark import read_manifest, read_mask
from ipad_iqa.data.perceptual import DEFAULT_RULE, predict_visibility, synthesis_threads
from ipad_iqa.io import load_image
from ipad_iqa.output import ARTIFACT_CLASSES

RESULTS = Path(__file__).resolve().parent / "results"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "assets" / "benchmark"
TARGETS = {"precision": 0.95, "coverage": 0.95, "jod_median_spread": 0.5}


def _u8(path: Path) -> np.ndarray:
    return load_image(path).mul(255).round().byte().permute(1, 2, 0).numpy()


def audit(root: Path, split: str | None) -> dict:
    """Per-class audit figures of the artifact rows of ``split`` (see the module docstring)."""
    rule = DEFAULT_RULE
    per_class: dict[str, dict] = {}
    for cls in ARTIFACT_CLASSES:
        rows = [r for r in read_manifest(root, split, [cls]) if r.mask and r.reference]
        tp = marked = clear = clear_covered = 0
        invisible, jods, severities, areas = 0, [], [], []
        for r in rows:
            visible, ignore = read_mask(r.mask)
            jnd, jod = predict_visibility(_u8(r.image), _u8(r.reference), rule)
            tp += int((jnd[visible] >= 1.0).sum())
            marked += int(visible.sum())
            clearly = jnd >= 2 * rule.visible_jnd
            clear += int(clearly.sum())
            clear_covered += int((clearly & (visible | ignore)).sum())
            invisible += int(not visible.any() or jod > rule.jod_at_0 + rule.jod_tolerance)
            jods.append(jod)
            severities.append(r.severity or 0.0)
            areas.append(float(visible.mean()))
        jods_a, sev_a, area_a = np.array(jods), np.array(severities), np.array(areas)
        thirds = {}
        for lo, hi in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0001)):
            sel = (sev_a >= lo) & (sev_a < hi)
            thirds[f"{lo:.2f}-{min(hi, 1):.2f}"] = {
                "n": int(sel.sum()),
                "jod_median": float(np.median(jods_a[sel])) if sel.any() else None,
                "visible_area_median": float(np.median(area_a[sel])) if sel.any() else None}
        per_class[cls] = {
            "n": len(rows), "precision": tp / marked if marked else None,
            "coverage": clear_covered / clear if clear else None, "invisible": invisible,
            "jod_quartiles": [float(v) for v in np.quantile(jods_a, (0.25, 0.5, 0.75))] if len(rows) else None,
            "by_severity": thirds}
    medians = [c["jod_quartiles"][1] for c in per_class.values() if c["jod_quartiles"]]
    return {"benchmark": str(root), "split": split, "rule": asdict(rule),
            "classes": per_class, "jod_median_spread": max(medians) - min(medians) if medians else None}


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def markdown(result: dict) -> str:
    lines = ["| class | images | mask pixels visible (precision) | clearly visible pixels marked (coverage) | "
             "invisible images | JOD p25 / median / p75 |", "|---|---:|---:|---:|---:|---|"]
    for cls, c in result["classes"].items():
        q = " / ".join(f"{v:.2f}" for v in c["jod_quartiles"]) if c["jod_quartiles"] else "n/a"
        lines.append(f"| {cls} | {c['n']} | {_num(c['precision'])} | {_num(c['coverage'])} | {c['invisible']} | {q} |")
    lines += ["", "| class | severity | images | median JOD | median area marked (255) |", "|---|---|---:|---:|---:|"]
    for cls, c in result["classes"].items():
        for name, t in c["by_severity"].items():
            jod = "n/a" if t["jod_median"] is None else f"{t['jod_median']:.2f}"
            area = "n/a" if t["visible_area_median"] is None else f"{t['visible_area_median']:.3f}"
            lines.append(f"| {cls} | {name} | {t['n']} | {jod} | {area} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="benchmark folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--name", required=True, help="names the result file, e.g. v2 or v1")
    parser.add_argument("--tables-only", action="store_true",
                        help="rewrite the markdown tables from benchmarks/results/mask_audit_NAME.json")
    args = parser.parse_args(argv)
    stored = RESULTS / f"mask_audit_{args.name}.json"
    if args.tables_only:
        result = json.loads(stored.read_text())
    else:
        with synthesis_threads():
            result = audit(args.root, args.split)
        RESULTS.mkdir(exist_ok=True)
        stored.write_text(json.dumps(result, indent=1) + "\n")
    table = markdown(result)
    command = f"python benchmarks/mask_audit.py {args.root.name} --split {args.split} --name {args.name}"
    (DOCS / f"mask_audit_{args.name}.md").write_text(f"{table}\n\n<small>`{command}`</small>\n")
    print(table)
    spec = json.loads((args.root / "benchmark.json").read_text())
    if spec.get("version") != "v2":
        return 0
    missed = [f"{cls} {k}" for cls, c in result["classes"].items() for k in ("precision", "coverage")
              if c[k] is None or c[k] < TARGETS[k]]
    missed += [f"{cls} invisible" for cls, c in result["classes"].items() if c["invisible"]]
    if result["jod_median_spread"] is None or result["jod_median_spread"] > TARGETS["jod_median_spread"]:
        missed.append("JOD medians")
    print("\n" + ("targets met" if not missed else "targets missed: " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
