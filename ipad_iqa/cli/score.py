"""Score image files with an IPAD metric: a table on stdout, optional results file, overlay PNGs and raw maps.

Inputs are files, folders (image files by extension) and glob patterns. Files that cannot be read are
reported in the ``error`` column and the run goes on. With weights that carry operating thresholds
(``ipad-iqa calibrate``; the shipped ``ipad_clip`` does), the ``flagged`` column names the classes whose
probability is above its threshold (``flare+moire``; ``none``); it is empty for uncalibrated weights. With --maps-dir, each scored image gets
``<name>.overlay.png`` (``<name>``: the input's path below the folder common to all inputs, ``/`` written
``__``, e.g. ``photos__a.jpg``); --save-maps adds its raw maps at input resolution, ``<name>.maps.npy``
(float32, shape (3, H, W), classes in the order ghosting, flare, moire) or ``<name>.<class>.png`` (16-bit
greyscale, map value x 65535).

Folders contribute the files with an image extension (.jpg .jpeg .jpe .jfif .png .bmp .tif .tiff .webp .gif
.ppm .pgm .pbm .pnm .tga; a note on stderr counts the others), sub-folders with --recursive (links to folders
are not followed, by patterns either); the command's own outputs (the --out file, overlays and maps in
--maps-dir) are never read back as inputs. An animated GIF is scored on its first frame.

Each input gives one row, in input order: ``path`` (as given; bytes that are not UTF-8 written ``\\xNN``),
``score`` (1 = no local artifact), ``ghosting``, ``flare``, ``moire`` (class probabilities), ``flagged`` and
``error`` (empty when scored). --out writes them as csv, json (a list of records, ``null`` for a missing
number) or parquet. An existing --out file, or an overlay or maps file of the same name in --maps-dir, is
refused before anything is scored unless --overwrite is given. Ctrl-C stops the run and still writes the
rows: those not reached say ``not scored: interrupted`` (exit 130).

Exit codes: 0 every input was scored; 3 at least one input failed (see the error column); 2 usage error
(bad option or no PATH, unsupported output extension, an output that exists without --overwrite or cannot be
written, unknown or non-IPAD metric, a bad arch option or weights file, CUDA requested but unavailable,
``--engine ray`` without Ray or its cluster, with --maps-dir or with a file name that is not UTF-8);
130 interrupted.
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
    from ipad_iqa.thresholds import Thresholds

HELP = "score images for local artifacts (exit 0: all scored, 3: some inputs failed, 2: usage error)"

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = 130  # the shell's code for SIGINT
NOT_SCORED = "not scored: interrupted"

#: Output formats by file extension; checked when the arguments are parsed, before any work is done.
OUTPUT_FORMATS: tuple[str, ...] = (".csv", ".json", ".parquet")
COLUMNS: tuple[str, ...] = ("path", "score", *ARTIFACT_CLASSES, "flagged", "error")
OVERLAY_SUFFIX = ".overlay.png"
#: --save-maps formats and the endings of their files: one float32 .npy array per image, or one 16-bit
#: greyscale PNG per image and class (in ARTIFACT_CLASSES order).
MAPS_SUFFIXES: dict[str, tuple[str, ...]] = {"npy": (".maps.npy",),
                                             "png": tuple(f".{name}.png" for name in ARTIFACT_CLASSES)}
MAPS_FORMATS: tuple[str, ...] = tuple(MAPS_SUFFIXES)
#: Endings of the files a run writes into --maps-dir: never read back as inputs.
OUTPUT_SUFFIXES: tuple[str, ...] = (OVERLAY_SUFFIX, *(e for ends in MAPS_SUFFIXES.values() for e in ends))

#: Maps a (B, 3, H, W) batch in [0, 1] to an IPADOutput; the CLI builds one from a pyiqa metric, tests
#: inject a fake.
Scorer = Callable[["torch.Tensor"], "IPADOutput"]


class UsageError(Exception):
    """A problem with the command line found after parsing (reported with exit code 2)."""


class ScoringInterrupted(Exception):
    """Ctrl-C during :func:`score_paths`: carries every row, those not reached marked ``NOT_SCORED``."""

    def __init__(self, rows: list[ScoreRow]):
        super().__init__(NOT_SCORED)
        self.rows = rows


@dataclass
class ScoreRow:
    """One output row: the numbers for a scored input, or the reason it failed."""

    path: str
    score: float = math.nan
    class_probs: tuple[float, ...] = field(default_factory=lambda: (math.nan,) * len(ARTIFACT_CLASSES))
    flagged: str = ""  # the classes above their thresholds ("flare+moire", "none"); "" without thresholds
    error: str = ""

    def as_record(self) -> dict[str, object]:
        return {"path": self.path, "score": self.score, **dict(zip(ARTIFACT_CLASSES, self.class_probs, strict=True)),
                "flagged": self.flagged, "error": self.error}


@dataclass(frozen=True)
class MetricScorer:
    """A pyiqa metric as a :data:`Scorer`, with the operating thresholds its weights carry (None: none)."""

    forward: Scorer
    thresholds: Thresholds | None = None

    def __call__(self, batch: torch.Tensor) -> IPADOutput:
        return self.forward(batch)


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
                        help="pyiqa metric name (an ipad_clip* variant, see `ipad-iqa list`); NAME[key=value,...] "
                             "sets its options: clip_weights=FILE (a local open_clip checkpoint), "
                             "head_weights=FILE (trained IPAD weights), zero_shot=True, or inference-time arch "
                             "options, e.g. 'ipad_clip_vitb16[zero_shot=True,clip_weights=ViT-B-16.bin]'")
    parser.add_argument("--head-weights", type=Path,
                        help="trained weights (.safetensors, e.g. runs/NAME/last.safetensors) instead of the "
                             "metric's registered ones; the same as head_weights=FILE in --metric")
    parser.add_argument("--out", type=_output_path, help=f"results file; format from the extension {OUTPUT_FORMATS}")
    parser.add_argument("--maps-dir", type=Path,
                        help="write one overlay PNG per scored image into this folder (<name>.overlay.png)")
    parser.add_argument("--save-maps", choices=MAPS_FORMATS,
                        help="also write each image's raw maps at input resolution into --maps-dir: npy, one "
                             "float32 (3, H, W) array (<name>.maps.npy); png, one 16-bit PNG per class "
                             "(<name>.<class>.png, value x 65535)")
    parser.add_argument("--batch-size", type=_positive_int, default=1,
                        help="images of identical size scored together (results do not depend on it)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the model runs; cuda without a GPU is a usage error")
    parser.add_argument("--recursive", action="store_true", help="descend into sub-folders of folder inputs")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out file and same-named overlays or maps in --maps-dir "
                             "(without it they are refused before anything is scored)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from ipad_iqa.cli.ray_engine import add_engine_arguments

    ray = add_engine_arguments(parser, "scoring")
    ray.add_argument("--actors", type=_positive_int,
                     help="Ray: metric instances scoring at once (default: one per GPU with cuda, else per "
                          "--cpus-per-actor CPUs of the cluster)")
    ray.add_argument("--cpus-per-actor", type=_positive_int, default=1, help="Ray: CPU cores (threads) per actor")


def output_stems(paths: Sequence[Path]) -> list[str]:
    """Names of the files written for ``paths`` (overlays, maps), without suffix: unique, readable, stable for a
    given input list.

    Each is the input's path relative to the deepest folder common to all inputs, with separators replaced
    by ``__``, so ``a/x.jpg`` and ``b/x.jpg`` get ``a__x.jpg`` and ``b__x.jpg``. Names that still clash (an
    input given twice) get ``-2``, ``-3``... appended.
    """
    resolved = [Path(os.path.abspath(p)) for p in paths]  # links keep their own names
    root = Path(os.path.commonpath([p.parent for p in resolved])) if resolved else Path()
    stems: list[str] = []
    used: set[str] = set()
    for path in resolved:
        base = "__".join(path.relative_to(root).parts)
        stem, n = base, 1
        while stem in used:
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        stems.append(stem)
    return stems


def save_maps(maps: torch.Tensor, folder: Path, stem: str, fmt: str) -> None:
    """Write one image's raw (C, H, W) maps, values in [0, 1]: ``<stem>.maps.npy`` (float32, channels in
    ``ARTIFACT_CLASSES`` order) or, for ``png``, ``<stem>.<class>.png`` per class (16-bit greyscale,
    value x 65535: PNG keeps 16 bits, so the maps survive within 1/65535)."""
    import numpy as np
    from PIL import Image

    array = maps.detach().float().cpu().numpy()
    if fmt == "npy":
        np.save(folder / f"{stem}{MAPS_SUFFIXES['npy'][0]}", array)
        return
    for suffix, plane in zip(MAPS_SUFFIXES["png"], array, strict=True):
        levels = np.rint(np.clip(plane, 0.0, 1.0) * 65535).astype(np.uint16)
        Image.fromarray(levels).save(folder / f"{stem}{suffix}")


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
    maps_format: str | None = None,
    thresholds: Thresholds | None = None,
) -> list[ScoreRow]:
    """Score every path and return one row per path, in input order; failures fill ``error``.

    With ``thresholds`` every scored row says which classes it is flagged for (``flagged``).

    With ``maps_dir`` each scored image gets an overlay there and, with ``maps_format`` (one of
    ``MAPS_FORMATS``), its raw maps (:func:`save_maps`). Images of identical size are batched together up to
    ``batch_size``. Only one batch of tensors is alive at a time (rows keep floats only), so memory stays
    bounded however many files are scored.
    """
    from tqdm import tqdm

    from ipad_iqa.io import ImageLoadError, load_image, shown_path

    if maps_format is not None and maps_dir is None:
        raise ValueError("maps_format needs maps_dir")
    rows = [ScoreRow(shown_path(p)) for p in paths]
    stems = output_stems(paths) if maps_dir else []
    if maps_dir:
        maps_dir.mkdir(parents=True, exist_ok=True)
    with tqdm(total=len(paths), unit="img", disable=not progress, file=sys.stderr) as bar:
        try:
            for chunk in _size_groups(paths, batch_size):
                loaded: dict[tuple[int, ...], list[tuple[int, torch.Tensor]]] = {}
                for i in chunk:
                    try:
                        image = load_image(paths[i])
                    except ImageLoadError as err:
                        rows[i].error = shown_path(err.reason)  # the path is in its own column
                        continue
                    loaded.setdefault(tuple(image.shape), []).append((i, image))
                for items in loaded.values():
                    _score_batch(items, scorer, rows, paths, maps_dir, stems, maps_format, thresholds)
                bar.update(len(chunk))
        except KeyboardInterrupt:
            for row in rows:
                if not row.error and math.isnan(row.score):
                    row.error = NOT_SCORED
            raise ScoringInterrupted(rows) from None
    return rows


def _score_batch(
    items: list[tuple[int, torch.Tensor]],
    scorer: Scorer,
    rows: list[ScoreRow],
    paths: Sequence[Path],
    maps_dir: Path | None,
    stems: Sequence[str],
    maps_format: str | None,
    thresholds: Thresholds | None,
) -> None:
    """Score equally sized images in one call; fill their rows and write their overlays and maps."""
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
    labels = thresholds.labels(probs) if thresholds is not None else [""] * len(items)
    for k, (i, image) in enumerate(items):
        rows[i].score, rows[i].class_probs, rows[i].flagged = scores[k], tuple(probs[k]), labels[k]
        if maps_dir is None:
            continue
        picture = overlay(image, output.maps[k], score=scores[k], class_probs=probs[k], panel=True,
                          title=paths[i].name)
        picture.save(maps_dir / f"{stems[i]}{OVERLAY_SUFFIX}")
        if maps_format is not None:
            save_maps(output.maps[k], maps_dir, stems[i], maps_format)


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
    """Rows as an aligned text table: numbers right-aligned with 4 decimals, then the flags, the error last and
    unpadded."""
    records = [[row.path, *(_fmt(v) for v in (row.score, *row.class_probs)), row.flagged, row.error]
               for row in rows]
    header = list(COLUMNS)
    widths = [max(len(r[c]) for r in [header, *records]) for c in range(len(header) - 1)]

    def line(cells: list[str]) -> str:
        left = cells[0].ljust(widths[0])
        numbers = [cell.rjust(w) for cell, w in zip(cells[1:-2], widths[1:-1], strict=True)]
        return "  ".join([left, *numbers, cells[-2].ljust(widths[-1]), cells[-1]]).rstrip()

    return "\n".join(line(r) for r in [header, *records])


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.4f}"


#: Resolutions a scorer's maps come at: the model's own grid (no maps wanted), the overlay's size, the input's.
MAPS_RESOLUTIONS: tuple[str, ...] = ("grid", "display", "input")


def make_pyiqa_scorer(metric: str, device: str, maps: str = "display", head_weights: Path | None = None
                      ) -> MetricScorer:
    """Build a scorer from a registered pyiqa metric that supports ``return_maps=True``.

    ``metric`` may carry options (``NAME[key=value,...]``, as ``ipad-iqa evaluate --methods``: weights files and
    arch options), and ``head_weights`` replaces an IPAD metric's registered weights; both only for
    ``ipad_clip*`` metrics. ``maps`` (one of ``MAPS_RESOLUTIONS``) says at which resolution an IPAD-CLIP metric
    makes its maps: on its grid (nothing is drawn), at the size the overlay is drawn at, or at the input's
    (raw maps are saved).
    """
    import pyiqa
    import torch

    import ipad_iqa  # noqa: F401  (registers the ipad_clip* metrics with pyiqa)
    from ipad_iqa.baselines.pyiqa_global import GLOBAL_METRICS, is_full_reference
    from ipad_iqa.methods import IPAD_PREFIX, ipad_options, split_method
    from ipad_iqa.model.backbone import BackboneError
    from ipad_iqa.pyiqa_plugin import IPADCLIPArch
    from ipad_iqa.viz import render_size
    from ipad_iqa.weights import WeightsError

    if maps not in MAPS_RESOLUTIONS:
        raise ValueError(f"maps must be one of {MAPS_RESOLUTIONS}, got {maps!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was requested but CUDA is not available; use --device cpu")
    try:
        name, options = split_method(metric)
        kwargs = ipad_options(options) if name.startswith(IPAD_PREFIX) else {}
    except ValueError as err:
        raise UsageError(f"--metric: {err}") from None
    if name not in pyiqa.list_models():
        known = ", ".join(pyiqa.list_models(filter=f"{IPAD_PREFIX}*")) or "none registered"
        raise UsageError(f"unknown metric {name!r}; IPAD metrics: {known} (ipad-iqa list)")
    if is_full_reference(name):
        raise UsageError(f"{name} is a full-reference metric (it compares with a clean original); score rates "
                         f"single images: use an {IPAD_PREFIX}* metric (ipad-iqa list)")
    if not name.startswith(IPAD_PREFIX):
        compare = (f". To set {name} beside them on a benchmark: ipad-iqa evaluate --methods {IPAD_PREFIX},{name}"
                   if name in GLOBAL_METRICS else "")
        raise UsageError(f"{name} is a global pyiqa metric: one number per image, no artifact classes or maps; "
                         f"score runs {IPAD_PREFIX}* metrics (ipad-iqa list){compare}")
    if head_weights is not None:
        if "head_weights" in kwargs:
            raise UsageError("head weights given twice, by --head-weights and by head_weights= in --metric")
        kwargs["head_weights"] = str(head_weights)
    try:
        model = pyiqa.create_metric(name, device=device, **kwargs)
    except (ValueError, WeightsError, BackboneError) as err:  # a bad option, missing or unfitting weights
        raise UsageError(str(err)) from None
    if not isinstance(model.net, IPADCLIPArch):
        return MetricScorer(lambda batch: model(batch, return_maps=True))

    def forward(batch: torch.Tensor) -> IPADOutput:
        if maps == "grid":
            return model(batch, return_maps=True, full_maps=False)
        if maps == "display":
            return model(batch, return_maps=True, maps_size=render_size(*batch.shape[-2:]))
        return model(batch, return_maps=True)

    return MetricScorer(forward, model.net.thresholds)


def run(args: argparse.Namespace, scorer: Scorer | None = None, stdout: TextIO | None = None) -> int:
    """Run the subcommand; ``scorer`` replaces the pyiqa metric (for tests and embedding)."""
    out = stdout or sys.stdout
    interrupted = False
    try:
        if args.save_maps is not None and args.maps_dir is None:
            raise UsageError("--save-maps writes into --maps-dir; give both")
        _check_out(args.out, args.overwrite)
        rows = _score_inputs(args, scorer)
    except UsageError as err:
        print(f"ipad-iqa score: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ScoringInterrupted as stop:
        rows, interrupted = stop.rows, True
    except KeyboardInterrupt:  # before any row existed (loading the model, or a Ray run)
        print("ipad-iqa score: interrupted before any input was scored; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.out is not None:  # first: a closed pipe on stdout must not lose the results file
        write_results(rows, args.out)
    _print_table(rows, out)
    if interrupted:
        left = sum(row.error == NOT_SCORED for row in rows)
        where = f"; {args.out} holds every row" if args.out is not None else ""
        print(f"ipad-iqa score: interrupted, {left} of {len(rows)} inputs not scored{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    failed = sum(1 for row in rows if row.error)
    if failed:
        print(f"ipad-iqa score: {failed} of {len(rows)} inputs failed (see the error column)", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def own_outputs(maps_dir: Path | None, out: Path | None) -> Callable[[Path], bool]:
    """Whether a file that a folder or pattern brings in is this command's output: the --out file, or an
    overlay or maps file directly in --maps-dir (by name, so a --maps-dir that is the photos' own folder keeps
    the photos). Paths are compared resolved, so a link to the folder does not bring them back."""
    out_real = os.path.realpath(out) if out is not None else None
    maps_real = os.path.realpath(maps_dir) if maps_dir is not None else None

    def is_own(path: Path) -> bool:
        real = os.path.realpath(path)
        if real == out_real:
            return True
        return maps_real is not None and os.path.dirname(real) == maps_real and path.name.endswith(OUTPUT_SUFFIXES)

    return is_own


def _print_table(rows: Sequence[ScoreRow], out: TextIO) -> None:
    """The table on stdout; a reader that stops early (``| head``) ends the printing, not the run."""
    try:
        print(format_table(rows), file=out)
        out.flush()
    except BrokenPipeError:
        if out is sys.stdout:  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _check_out(path: Path | None, overwrite: bool) -> None:
    """Refuse, before any work, a results file that exists (without ``overwrite``) or cannot be created."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder; name a file")
    if path.exists() and not overwrite:
        raise UsageError(f"--out {path} exists; pass --overwrite to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {path}: cannot create its folder ({err.strerror})") from None


def _check_maps_dir(folder: Path, paths: Sequence[Path], maps_format: str | None, overwrite: bool) -> None:
    """Refuse, before any work, a --maps-dir that cannot be a folder or already holds files this run would
    write (without ``overwrite``): an earlier run's overlay of another photo of the same name is not replaced
    silently."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--maps-dir {folder}: cannot create it ({err.strerror})") from None
    if overwrite:
        return
    suffixes = (OVERLAY_SUFFIX, *MAPS_SUFFIXES.get(maps_format or "", ()))
    taken = [folder / f"{stem}{suffix}" for stem in output_stems(paths) for suffix in suffixes
             if (folder / f"{stem}{suffix}").exists()]
    if taken:
        raise UsageError(f"--maps-dir {folder} already holds {len(taken)} file(s) this run would write "
                         f"(e.g. {taken[0].name}); pass --overwrite to replace them, or another folder")


def _score_inputs(args: argparse.Namespace, scorer: Scorer | None) -> list[ScoreRow]:
    """One row per input, in input order, from this process or (``--engine ray``) from Ray actors."""
    from ipad_iqa.io import expand_inputs, shown_path

    if args.engine == "ray":
        if scorer is not None:
            raise ValueError("a scorer object cannot be sent to Ray actors; they build the --metric themselves")
        from ipad_iqa.cli.ray_engine import score_on_ray

        return score_on_ray(args)
    skipped: list[Path] = []
    own: list[Path] = []
    is_own = own_outputs(args.maps_dir, args.out)

    def exclude(path: Path) -> bool:
        if is_own(path):
            own.append(path)
            return True
        return False

    paths = expand_inputs(args.paths, recursive=args.recursive, exclude=exclude, skipped=skipped)
    if skipped:
        print(f"ipad-iqa score: note: {len(skipped)} file(s) in the given folders have no image extension and "
              f"are not scored (e.g. {shown_path(skipped[0])})", file=sys.stderr)
    if own:
        print(f"ipad-iqa score: note: {len(own)} file(s) are outputs of this command in --maps-dir or --out and "
              f"are not scored (e.g. {shown_path(own[0])})", file=sys.stderr)
    if args.maps_dir is not None:
        _check_maps_dir(args.maps_dir, paths, args.save_maps, args.overwrite)
    if scorer is None:
        maps = "grid" if args.maps_dir is None else "display" if args.save_maps is None else "input"
        scorer = make_pyiqa_scorer(args.metric, args.device, maps=maps, head_weights=args.head_weights)
    return score_paths(paths, scorer, batch_size=args.batch_size, maps_dir=args.maps_dir,
                       progress=not args.quiet, maps_format=args.save_maps,
                       thresholds=scorer.thresholds if isinstance(scorer, MetricScorer) else None)
