"""Write the demo table of Getting started from `make demo`'s results, and say which examples read right.

Usage: make demo && python docs/scripts/make_demo_table.py [--scores demo_out/scores.csv]
Writes docs/assets/demo_table.md. An example reads right when its highest class probability is its own class
(the file name starts with it) and the clean example has the highest score of all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("ghosting", "flare", "moire")


def verdict(name: str, row: pd.Series, best_score: float) -> str:
    """Whether one example reads right, and if not, what it was read as."""
    kind = name.split("_")[0]
    if kind == "clean":
        return "yes" if row["score"] >= best_score else "no: not the highest score"
    top = max(CLASSES, key=lambda c: row[c])
    return "yes" if top == kind else f"no: {top} highest"


def table(frame: pd.DataFrame) -> str:
    best = frame["score"].max()
    lines = ["| example | score | ghosting | flare | moiré | flagged | read right? |",
             "|---|---:|---:|---:|---:|---|---|"]
    for _, row in frame.iterrows():
        name = Path(row["path"]).stem
        cells = [f"{row[c]:.2f}" for c in ("score", *CLASSES)]
        lines.append(f"| `{name}` | {' | '.join(cells)} | {row['flagged'] or '–'} | {verdict(name, row, best)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scores", type=Path, default=ROOT / "demo_out" / "scores.csv")
    args = parser.parse_args()
    frame = pd.read_csv(args.scores, keep_default_na=False).sort_values("path")
    out = ROOT / "docs" / "assets" / "demo_table.md"
    out.write_text(table(frame) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
