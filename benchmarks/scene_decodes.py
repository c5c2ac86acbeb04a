"""Photo decodes and seconds for the first N items of a training config's stream, as ``train`` builds it.

Usage: python benchmarks/scene_decodes.py --config configs/ipad_clip_v1.yaml [--items 320]
       [--clean-dir DIR]   (default: $IPAD_IQA_DATA)
Counts every decode of a clean photo (the dataset's own cache of decoded photos included), so two revisions of
the data code can be compared on the same stream: run it in a git worktree of each.
"""

from __future__ import annotations

import argparse
import time

import torch

import ipad_iqa.data.datasets as datasets
from ipad_iqa.train.config import load_config
from ipad_iqa.train.loop import _datasets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--items", type=int, default=320)
    parser.add_argument("--clean-dir", help="clean photo pool (default: $IPAD_IQA_DATA)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    decodes = 0
    load = datasets.load_photo

    def counting(path):
        nonlocal decodes
        decodes += 1
        return load(path)

    datasets.load_photo = counting
    train, _ = _datasets(load_config(args.config, [f"data.clean_dir={args.clean_dir}"] if args.clean_dir else []))
    start = time.perf_counter()
    for i in range(args.items):
        train[i]
    print(f"items {args.items} decodes {decodes} seconds {time.perf_counter() - start:.1f}")


if __name__ == "__main__":
    main()
