"""Assemble the clean photo pool behind the published numbers from its public sources, checked by sha256.

Reads the pool list shipped with the package (``ipad_iqa/assets/photo_pool.tsv``: 428 files from five GitHub
repositories at pinned commits and from scikit-image and matplotlib), downloads each source file, prepares it
as the pool holds it (RGB, long side at most 1024 pixels, JPEG quality 90) and writes it under OUT with the
published layout, so ``ipad-iqa make-benchmark --clean-dir OUT`` gives the published benchmark. Files already
in OUT with the published checksum are kept; nothing is overwritten. Every file gets a line in
``OUT/fetch_report.tsv``: ``ok``, ``differs`` (written or already there, but not byte-identical to the
published file) or ``failed`` (with the reason); the run goes on past failures.

Exit codes: 0 every file ok; 3 some files differ or failed (see the report); 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

HELP = "download the clean photo pool of the published benchmark from its public sources (sha256-checked)"
REPORT = "fetch_report.tsv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="pool folder to write (created if missing)")
    parser.add_argument("--mirror",
                        help="base URL with the layout OWNER/REPO/REVISION/PATH instead of GitHub's raw files "
                             "(e.g. file:///data/mirror)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ipad_iqa.data.photo_pool import GITHUB_RAW, fetch_pool, github_reader, read_pool_list

    if args.out.exists() and not args.out.is_dir():
        print(f"ipad-iqa fetch-photos: error: {args.out} is not a folder", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    entries = read_pool_list()
    results = []
    reader = github_reader(args.mirror or GITHUB_RAW)
    for result in tqdm(fetch_pool(args.out, entries, reader), total=len(entries), unit="file",
                       disable=args.quiet, file=sys.stderr):
        results.append(result)
    with (args.out / REPORT).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "status", "detail"])
        writer.writerows((r.file, r.status, r.detail) for r in results)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "differs", "failed")}
    print(f"{counts['ok']} ok, {counts['differs']} differ, {counts['failed']} failed of {len(results)} files; "
          f"report: {args.out / REPORT}")
    return 0 if counts["ok"] == len(results) else 3
