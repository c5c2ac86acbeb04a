"""Train an IPAD-CLIP model on IPAD-Synth v2 shards (`ipad-iqa make-shards`) or on-the-fly v1 samples, in a
single process or under torchrun."""

from __future__ import annotations

import argparse

HELP = "train IPAD-CLIP from a YAML recipe (configs/*.yaml)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML recipe, e.g. configs/ipad_clip_s.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value (dotted keys, YAML values), repeatable")
    parser.add_argument("--resume", help="last.pt of an interrupted run")
    parser.add_argument("--shards", help="training shards folder (same as --set data.shards=DIR)")
    parser.add_argument("--val-shards", help="validation shards folder (same as --set data.val_shards=DIR)")
    parser.add_argument("--clean-dir", help="clean photo pool for on-the-fly v1 synthesis (same as --set "
                                            "data.clean_dir=DIR; when neither this nor the config sets it: "
                                            "$IPAD_IQA_DATA)")
    parser.add_argument("--out", help="run folder (same as --set out_dir=DIR)")
    parser.add_argument("--device", help="cpu or cuda (same as --set device=...)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json
    import os

    from ipad_iqa.train.config import load_config
    from ipad_iqa.train.loop import train

    overrides = list(args.overrides)
    for key, value in (("data.shards", args.shards), ("data.val_shards", args.val_shards),
                       ("data.clean_dir", args.clean_dir), ("out_dir", args.out), ("device", args.device)):
        if value:
            overrides.append(f"{key}={value}")
    summary = train(load_config(args.config, overrides), resume=args.resume, progress=not args.quiet)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one summary, not one per process
        print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
    return 0
