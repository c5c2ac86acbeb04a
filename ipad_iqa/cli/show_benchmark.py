"""Contact sheet of an IPAD-Synth benchmark (image, mask overlay, label), and/or its statistics as markdown."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ipad_iqa.data.splits import SPLITS
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS

if TYPE_CHECKING:
    from ipad_iqa.data.benchmark import ManifestRow

HELP = "contact sheet and statistics of an IPAD-Synth benchmark folder"

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", help="benchmark folder (with manifest.csv)")
    parser.add_argument("--n", type=int, default=24, help="number of samples on the sheet")
    parser.add_argument("--out", default=None, help="sheet PNG to write (omit for --stats only)")
    parser.add_argument("--split", default=None, choices=SPLITS, help="show only this split (default: all)")
    parser.add_argument("--label", default=None, choices=LABELS, help="show only this label (default: all)")
    parser.add_argument("--tile", type=int, default=160, help="tile side in px")
    parser.add_argument("--cols", type=int, default=4, help="samples per row")
    parser.add_argument("--seed", type=int, default=0, help="which samples are shown")
    parser.add_argument("--colors", type=int, default=0,
                        help="quantize the sheet to this many palette colours (0: full colour); 256 makes a PNG"
                             " about 3x smaller, for the docs")
    parser.add_argument("--stats", action="store_true", help="print counts, mask-area and severity statistics")


def contact_sheet(rows: list[ManifestRow], tile: int, cols: int):
    """Image and mask-overlay tiles side by side (masks in the overlay colours of ``ipad-iqa score``), captioned
    with label, split and severity."""
    import numpy as np
    from PIL import Image, ImageDraw

    from ipad_iqa.data.benchmark import read_mask
    from ipad_iqa.io import load_image
    from ipad_iqa.viz import DEFAULT_STYLE

    cols = max(1, min(cols, len(rows)))
    n_rows = -(-len(rows) // cols)
    cap = 14
    sheet = Image.new("RGB", (cols * 2 * tile, n_rows * (tile + cap)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for k, row in enumerate(rows):
        pixels = load_image(row.image).mul(255).round().byte().permute(1, 2, 0).numpy()
        img = Image.fromarray(pixels).resize((tile, tile), Image.LANCZOS)
        over = np.asarray(img, np.float32)
        if row.mask:  # visible pixels in the class colour, the ignore band (v2) at half strength
            visible, ignore = (np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize((tile, tile))) > 127
                               for m in read_mask(row.mask))
            color = np.asarray(DEFAULT_STYLE.colors[ARTIFACT_CLASSES.index(row.label)], np.float32)
            over[visible] = 0.5 * over[visible] + 0.5 * color
            over[ignore & ~visible] = 0.75 * over[ignore & ~visible] + 0.25 * color
        x, y = (k % cols) * 2 * tile, (k // cols) * (tile + cap)
        sheet.paste(img, (x, y + cap))
        sheet.paste(Image.fromarray(over.astype(np.uint8)), (x + tile, y + cap))
        draw.text((x + 2, y + 1), f"{row.label} {row.split} s={row.severity or 0.0:.2f}", fill=(230, 230, 230))
    return sheet


def stats_markdown(rows: list[ManifestRow]) -> str:
    """Counts per split and label (and distinct source photos), mask area and severity quantiles per label.

    Splits without rows (a benchmark written with ``--splits``, or ``--split`` given) are left out."""
    import numpy as np

    from ipad_iqa.data.benchmark import read_mask

    lines = ["| split | " + " | ".join(LABELS) + " | total | photos |", "|---" * (len(LABELS) + 3) + "|"]
    for s in (s for s in SPLITS if any(r.split == s for r in rows)):
        counts = [sum(r.split == s and r.label == lab for r in rows) for lab in LABELS]
        photos = len({r.source for r in rows if r.split == s})
        lines.append(f"| {s} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} | {photos} |")
    q = (0.1, 0.25, 0.5, 0.75, 0.9)
    lines += ["", "Mask area (fraction of the image marked as artifact; v2: visible) and severity, per artifact:", "",
              "| label | n | area p10 | p25 | median | p75 | p90 | severity mean | sev < 0.33 | 0.33-0.67 | > 0.67 |"
              " JOD median |", "|---" * 12 + "|"]
    for lab in LABELS[1:]:
        sub = [r for r in rows if r.label == lab]
        if not sub:
            continue
        area = np.array([read_mask(r.mask)[0].mean() for r in sub])
        sev = np.array([r.severity or 0.0 for r in sub])
        bins = np.histogram(sev, bins=[0, 1 / 3, 2 / 3, 1.0001])[0]
        jods = [r.jod for r in sub if r.jod is not None]
        lines.append(f"| {lab} | {len(sub)} | " + " | ".join(f"{v:.3f}" for v in np.quantile(area, q))
                     + f" | {sev.mean():.2f} | " + " | ".join(map(str, bins))
                     + (f" | {np.median(jods):.2f} |" if jods else " | n/a |"))
    return "\n".join(lines + _mode_lines(rows))


def _mode_lines(rows: list[ManifestRow]) -> list[str]:
    """Severity and JOD per synthesis mode (``subtype``): a mode that cannot be drawn strong shows here, where
    the per-class table above would hide it behind the others."""
    import numpy as np

    modes = sorted({(r.label, r.subtype) for r in rows if r.label != "clean" and r.subtype}, key=lambda m: (
        LABELS.index(m[0]), m[1]))
    if not modes:
        return []
    lines = ["", "Per synthesis mode:", "", "| label | mode | n | severity mean | sev < 0.33 | 0.33-0.67 | > 0.67 |"
             " JOD min | median | max |", "|---" * 10 + "|"]
    for lab, mode in modes:
        sub = [r for r in rows if r.label == lab and r.subtype == mode]
        sev = np.array([r.severity or 0.0 for r in sub])
        bins = np.histogram(sev, bins=[0, 1 / 3, 2 / 3, 1.0001])[0]
        jods = np.array([r.jod for r in sub if r.jod is not None])
        jod = " | ".join(f"{v:.2f}" for v in np.quantile(jods, (0, 0.5, 1))) if jods.size else "n/a | n/a | n/a"
        lines.append(f"| {lab} | {mode} | {len(sub)} | {sev.mean():.2f} | " + " | ".join(map(str, bins))
                     + f" | {jod} |")
    return lines


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ipad_iqa.data.benchmark import read_manifest

    rows = read_manifest(Path(args.root), args.split, [args.label] if args.label else None)
    if not rows:
        print("no samples match")
        return 1
    if args.stats:
        print(stats_markdown(rows))
    if args.out:
        pick = np.random.default_rng(args.seed).permutation(len(rows))[: args.n]
        sheet = contact_sheet([rows[i] for i in sorted(pick)], args.tile, args.cols)
        (sheet.quantize(args.colors) if args.colors else sheet).save(args.out, optimize=True)
        print(f"wrote {args.out}")
    return 0
