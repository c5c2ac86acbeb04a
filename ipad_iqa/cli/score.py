"""Score image files with an IPAD metric: a table on stdout, optional results file and overlay PNGs.

Inputs are files, folders (image files by extension) and glob patterns. Files that cannot be read are
reported in the ``error`` column and the run goes on.

Exit codes: 0 every input was scored; 3 at least one input failed (see the error column); 2 usage error
(bad option or no PATH, unsupported output extension, unknown metric, a bad arch option or weights file,
CUDA requested but unavailable, ``--engine ray`` without Ray or its cluster).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ipad_iqa.output import ARTIFACT_CLASSES

if TYPE_CHECKING:
    import torch

    from ipad_iqa.output import IPADOutput

HELP = "score images for local artifacts (exit 0: all scored, 3: some inputs failed, 2: usage error)"

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SOME_FAILED = 3

#: Output formats by file extension; checked when the arguments are parsed, before any work is done.
OUTPUT_FORMATS: tuple[str, ...] = (".csv", ".json", ".parquet")
COLUMNS: tuple[str, ...] = ("path", "score", *ARTIFACT_CLASSES, "error")
OVERLAY_SUFFIX = ".overlay.png"

#: Maps a (B, 3, H, W) batch in [0, 1] to an IPADOutput; the CLI builds one from a pyiqa metric, tests
#: inject a fake.
Scorer = Callable[["torch.Tensor"], "IPADOutput"]


class UsageError(Exception):
    """A problem with the command line found after parsing (reported with exit code 2)."""


@dataclass
class ScoreRow:
    """One output row: the numbers for a scored input, or the reason it failed."""

    path: str
    score: float = math.nan
    class_probs: tuple[float, ...] = field(default_factory=lambda: (math.nan,) * len(ARTIFACT_CLASSES))
    error: str = ""

    def as_record(self) -> dict[str, object]:
        return {"path": self.path, "score": self.score, **dict(zip(ARTIFACT_CLASSES, self.class_probs, strict=True)),
                "error": self.error}


def _output_path(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise argparse.ArgumentTypeError(
            f"unsupported output extension {path.suffix or '(none)'!r}; use one of {', '.join(OUTPUT_FORMATS)}"
        )
    return path


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or glob patterns")
    parser.add_argument("--metric", default="ipad_clip",
                        help="pyiqa metric name (an ipad_clip* variant); NAME[key=value,...] sets inference-time "
                             "arch options, e.g. 'ipad_clip[cls_weight=1.0]'")
    parser.add_argument("--head-weights", type=Path,
                        help="trained weights (.safetensors, e.g. runs/NAME/best.safetensors) instead of the "
                             "metric's registered ones")
    parser.add_argument("--out", type=_output_path, help=f"results file; format from the extension {OUTPUT_FORMATS}")
    parser.add_argument("--maps-dir", type=Path, help="write one overlay PNG per scored image into this folder")
    parser.add_argument("--batch-size", type=_positive_int, default=1,
                        help="images of identical size scored together (results do not depend on it)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the model runs; cuda without a GPU is a usage error")
    parser.add_argument("--recursive", action="store_true", help="descend into sub-folders of folder inputs")
    from ipad_iqa.ray_engine import add_engine_arguments

    ray = add_engine_arguments(parser, "scoring")
    ray.add_argument("--actors", type=_positive_int,
                     help="Ray: metric instances scoring at once (default: one per GPU with cuda, else per "
                          "--cpus-per-actor CPUs of the cluster)")
    ray.add_argument("--cpus-per-actor", type=_positive_int, default=1, help="Ray: CPU cores (threads) per actor")


def overlay_names(paths: Sequence[Path]) -> list[str]:
    """Overlay file names for ``paths``: unique, readable, stable for a given input list.

    Each name is the input's path relative to the deepest folder common to all inputs, with separators
    replaced by ``__``, so ``a/x.jpg`` and ``b/x.jpg`` get ``a__x.jpg.overlay.png`` and
    ``b__x.jpg.overlay.png``. Names that still clash (an input given twice) get ``-2``, ``-3``... appended.
    """
    resolved = [p.resolve() for p in paths]
    root = Path(os.path.commonpath([p.parent for p in resolved])) if resolved else Path()
    names: list[str] = []
    used: set[str] = set()
    for path in resolved:
        stem = "__".join(path.relative_to(root).parts)
        name, n = stem + OVERLAY_SUFFIX, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}{OVERLAY_SUFFIX}"
        used.add(name)
        names.append(name)
    return names


def _size_groups(paths: Sequence[Path], batch_size: int) -> Iterator[list[int]]:
    """Indices of ``paths`` in chunks of at most ``batch_size`` sharing one image size (read from headers).

    Unreadable files form chunks of their own, so that their error comes from the one loading path.
    """
    from ipad_iqa.io import ImageLoadError, read_size

    if batch_size == 1:
        yield from ([i] for i in range(len(paths)))
        return
    groups: dict[object, list[int]] = {}
    for i, path in enumerate(paths):
        try:
            key: object = read_size(path)
        except ImageLoadError:
            key = ("unreadable", i)
        groups.setdefault(key, []).append(i)
    for indices in groups.values():
        for start in range(0, len(indices), batch_size):
            yield indices[start : start + batch_size]


def score_paths(
    paths: Sequence[Path],
    scorer: Scorer,
    batch_size: int = 1,
    maps_dir: Path | None = None,
    progress: bool = True,
) -> list[ScoreRow]:
    """Score every path and return one row per path, in input order; failures fill ``error``.

    Images of identical size are batched together up to ``batch_size``. Only one batch of tensors is
    alive at a time (rows keep floats only), so memory stays bounded however many files are scored.
    """
    from tqdm import tqdm

    from ipad_iqa.io import ImageLoadError, load_image

    rows = [ScoreRow(str(p)) for p in paths]
    names = overlay_names(paths) if maps_dir else []
    if maps_dir:
        maps_dir.mkdir(parents=True, exist_ok=True)
    with tqdm(total=len(paths), unit="img", disable=not progress, file=sys.stderr) as bar:
        for chunk in _size_groups(paths, batch_size):
            loaded: dict[tuple[int, ...], list[tuple[int, torch.Tensor]]] = {}
            for i in chunk:
                try:
                    image = load_image(paths[i])
                except ImageLoadError as err:
                    rows[i].error = err.reason  # the path is in its own column
                    continue
                loaded.setdefault(tuple(image.shape), []).append((i, image))
            for items in loaded.values():
                _score_batch(items, scorer, rows, maps_dir, names)
            bar.update(len(chunk))
    return rows


def _score_batch(
    items: list[tuple[int, torch.Tensor]],
    scorer: Scorer,
    rows: list[ScoreRow],
    maps_dir: Path | None,
    names: Sequence[str],
) -> None:
    """Score equally sized images in one call; fill their rows and write their overlays."""
    import torch

    from ipad_iqa.viz import overlay

    # A single image is a view, not a copy: at 10000x8000 a copy would be another 960 MB.
    batch = items[0][1][None] if len(items) == 1 else torch.stack([image for _, image in items])
    try:
        with torch.inference_mode():
            output = scorer(batch)
        scores = output.score.detach().float().cpu().reshape(-1).tolist()
        probs = output.class_probs.detach().float().cpu().tolist()
    except Exception as err:  # a model failure on one batch must not lose the rest of a long run
        for i, _ in items:
            rows[i].error = f"scoring failed: {type(err).__name__}: {err}"
        return
    for k, (i, image) in enumerate(items):
        rows[i].score, rows[i].class_probs = scores[k], tuple(probs[k])
        if maps_dir is not None:
            picture = overlay(image, output.maps[k], score=scores[k], class_probs=probs[k], panel=True)
            picture.save(maps_dir / names[i])


def write_results(rows: Iterable[ScoreRow], path: Path) -> None:
    """Write rows with columns ``COLUMNS`` as csv, json (a list of records, null for missing numbers) or
    parquet, chosen by the extension."""
    import pandas as pd

    records = [row.as_record() for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".json":  # the json module, not pandas: pandas escapes every "/" in the paths
        nulls = [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()} for r in records]
        path.write_text(json.dumps(nulls, indent=1) + "\n", encoding="utf-8")
        return
    frame = pd.DataFrame(records, columns=list(COLUMNS))
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def format_table(rows: Sequence[ScoreRow]) -> str:
    """Rows as an aligned text table: numbers right-aligned with 4 decimals, the error last and unpadded."""
    records = [[row.path, *(_fmt(v) for v in (row.score, *row.class_probs)), row.error] for row in rows]
    header = list(COLUMNS)
    widths = [max(len(r[c]) for r in [header, *records]) for c in range(len(header) - 1)]

    def line(cells: list[str]) -> str:
        left = cells[0].ljust(widths[0])
        numbers = [cell.rjust(w) for cell, w in zip(cells[1:-1], widths[1:], strict=True)]
        return "  ".join([left, *numbers, cells[-1]]).rstrip()

    return "\n".join(line(r) for r in [header, *records])


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.4f}"


def make_pyiqa_scorer(metric: str, device: str, full_maps: bool = True, head_weights: Path | None = None
                      ) -> Scorer:
    """Build a scorer from a registered pyiqa metric that supports ``return_maps=True``.

    ``metric`` may carry arch options (``NAME[key=value,...]``, as ``ipad-iqa evaluate --methods``), and
    ``head_weights`` replaces an IPAD metric's registered weights; both only for ``ipad_clip*`` metrics.
    An IPAD-CLIP metric never makes maps at input resolution here: with ``full_maps=False`` (no overlays
    wanted) it keeps them on its patch grid, otherwise it renders them at the size the overlay is drawn at.
    """
    import pyiqa
    import torch

    import ipad_iqa  # noqa: F401  (registers the ipad_clip* metrics with pyiqa)
    from ipad_iqa.methods import IPAD_PREFIX, split_method
    from ipad_iqa.pyiqa_plugin import IPADCLIPArch
    from ipad_iqa.viz import render_size
    from ipad_iqa.weights import WeightsError

    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was requested but CUDA is not available; use --device cpu")
    try:
        name, options = split_method(metric)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if name not in pyiqa.list_models():
        known = ", ".join(pyiqa.list_models(filter="ipad*")) or "none registered"
        raise UsageError(f"unknown metric {name!r}; IPAD metrics: {known}")
    kwargs: dict = {}
    if options or head_weights is not None:
        if not name.startswith(IPAD_PREFIX):
            raise UsageError(f"{name} takes no arch options or head weights (only {IPAD_PREFIX}* metrics do)")
        kwargs = {"arch": options} if options else {}
        if head_weights is not None:
            kwargs["head_weights"] = str(head_weights)
    try:
        model = pyiqa.create_metric(name, device=device, **kwargs)
    except (ValueError, WeightsError) as err:  # a bad option value, a missing or unfitting weights file
        raise UsageError(f"{metric}: {err}") from None
    if isinstance(model.net, IPADCLIPArch):
        if not full_maps:
            return lambda batch: model(batch, return_maps=True, full_maps=False)
        return lambda batch: model(batch, return_maps=True, maps_size=render_size(*batch.shape[-2:]))
    return lambda batch: model(batch, return_maps=True)


def run(args: argparse.Namespace, scorer: Scorer | None = None, stdout: TextIO | None = None) -> int:
    """Run the subcommand; ``scorer`` replaces the pyiqa metric (for tests and embedding)."""
    out = stdout or sys.stdout
    try:
        rows = _score_inputs(args, scorer)
    except UsageError as err:
        print(f"ipad-iqa score: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(format_table(rows), file=out)
    if args.out is not None:
        write_results(rows, args.out)
    failed = sum(1 for row in rows if row.error)
    if failed:
        print(f"ipad-iqa score: {failed} of {len(rows)} inputs failed (see the error column)", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def _score_inputs(args: argparse.Namespace, scorer: Scorer | None) -> list[ScoreRow]:
    """One row per input, in input order, from this process or (``--engine ray``) from Ray actors."""
    from ipad_iqa.io import expand_inputs

    if args.engine == "ray":
        if scorer is not None:
            raise ValueError("a scorer object cannot be sent to Ray actors; they build the --metric themselves")
        from ipad_iqa.ray_engine import score_on_ray

        return score_on_ray(args)
    if scorer is None:
        scorer = make_pyiqa_scorer(args.metric, args.device, full_maps=args.maps_dir is not None,
                                   head_weights=args.head_weights)
    paths = expand_inputs(args.paths, recursive=args.recursive)
    return score_paths(paths, scorer, batch_size=args.batch_size, maps_dir=args.maps_dir)
