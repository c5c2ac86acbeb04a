"""Golden scores: the shipped ``ipad_clip`` on ``examples/*.jpg`` must give the recorded outputs.

A refactor must not change what users get; a deliberate change (new weights, a new inference rule) updates the
record in the same commit, with ``make golden`` (``python tests/test_golden.py``), so the diff shows it.
The record holds, per image, the score, the class probabilities and a compact summary of the maps: per class
their mean, their maximum and a 16 x 16 average-pooled grid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RECORD = Path(__file__).resolve().parent / "golden" / "ipad_clip_examples.json"
METRIC = "ipad_clip"
POOL = 16  # side of the pooled map grid
DIGITS = 6  # rounding of the record; far below the tolerance
TOLERANCE = 1e-4  # absolute, on every recorded number


def golden_outputs() -> dict[str, dict]:
    """The record of ``METRIC`` on every example image, as users get it (pyiqa metric, file loader)."""
    import pyiqa
    import torch
    import torch.nn.functional as F

    import ipad_iqa  # noqa: F401  (registers the ipad_clip* metrics with pyiqa)
    from ipad_iqa.io import load_image

    metric = pyiqa.create_metric(METRIC, device="cpu")
    record = {}
    for path in sorted(EXAMPLES.glob("*.jpg")):
        with torch.inference_mode():
            out = metric(load_image(path)[None], return_maps=True)
        maps = out.maps[0].float()
        pooled = F.adaptive_avg_pool2d(maps[None], POOL)[0]
        record[path.name] = {
            "score": round(float(out.score), DIGITS),
            "class_probs": [round(float(p), DIGITS) for p in out.class_probs[0]],
            "map_mean": [round(float(m.mean()), DIGITS) for m in maps],
            "map_max": [round(float(m.max()), DIGITS) for m in maps],
            "map_pooled": [[[round(float(v), DIGITS) for v in row] for row in grid] for grid in pooled],
        }
    return record


def _flatten(value: object, where: str) -> dict[str, float]:
    """``{"a.score": 0.9, "a.class_probs[0]": ...}``: every number of a record under its own name."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{where}.{key}".lstrip(".")).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flatten(item, f"{where}[{i}]").items()}
    return {where: float(value)}


def write_record() -> None:
    """The record as JSON with one line per grid row, so that a change shows as a readable diff."""
    lines = ["{", f' "metric": {json.dumps(METRIC)},', ' "images": {']
    images = golden_outputs()
    for i, (name, entry) in enumerate(images.items()):
        lines.append(f"  {json.dumps(name)}: {{")
        for key in ("score", "class_probs", "map_mean", "map_max"):
            lines.append(f"   {json.dumps(key)}: {json.dumps(entry[key])},")
        grids = [",\n".join(f"     {json.dumps(row)}" for row in grid) for grid in entry["map_pooled"]]
        lines.append('   "map_pooled": [\n    [\n' + "\n    ],\n    [\n".join(grids) + "\n    ]\n   ]")
        lines.append("  }" + ("," if i < len(images) - 1 else ""))
    lines += [" }", "}"]
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text("\n".join(lines) + "\n")
    print(f"wrote {RECORD.relative_to(ROOT)}")


@pytest.mark.slow
def test_shipped_outputs_unchanged():
    """Every recorded number within TOLERANCE, and the same images and entries: a silent change fails."""
    recorded = json.loads(RECORD.read_text())
    assert recorded["metric"] == METRIC
    want = _flatten(recorded["images"], "")
    got = _flatten(golden_outputs(), "")
    assert got.keys() == want.keys(), f"entries differ: {sorted(got.keys() ^ want.keys())[:5]}"
    off = {k: (got[k], want[k]) for k in want if abs(got[k] - want[k]) > TOLERANCE}
    assert not off, (f"{len(off)} of {len(want)} numbers moved by more than {TOLERANCE} (got, recorded), e.g. "
                     f"{dict(list(off.items())[:5])}; if the change is intended, run `make golden` and commit")


if __name__ == "__main__":
    write_record()
    sys.exit(0)
