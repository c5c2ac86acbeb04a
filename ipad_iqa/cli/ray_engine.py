"""Beyond one machine: ``ipad-iqa score`` and ``make-shards`` on a Ray cluster (``--engine ray``).

Scoring is Ray Data batch inference: the inputs become a dataset of paths or URIs, and a pool of actors, each
holding one metric instance, scores batches of them with the single-process code (:func:`score_paths`: the
same loader, the same per-row errors, the same batching by image size). For the command each actor call is
one batch that the single-process command would score, so every row of a Ray run equals the row the
single-process command writes for that file (bit for bit when actors run as many torch threads as it does). Shard synthesis fans the disjoint shard sets of
:func:`~ipad_iqa.data.shards.write_shards` out as Ray tasks; their union is byte-identical to a serial run.

Ray is an optional extra (``pip install 'ipad-iqa[ray]'``) and is imported only when one of these paths runs.
Inputs and outputs must be visible to every node (one machine, a shared file system, or URIs).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import ray.data

    from ipad_iqa.cli.score import ScoreRow

RAY_EXTRA = "pip install 'ipad-iqa[ray]'"
#: Item names with this marker are URIs, fetched through a pyarrow file system instead of opened as paths.
URI_MARKER = "://"


class RayEngineError(RuntimeError):
    """Ray is not installed, its cluster cannot be reached, or it lacks what the run asks for."""


def require_ray() -> ModuleType:
    """The ``ray`` module, or a one-line error naming the extra that installs it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the batch inference path needs the data extra)
    except ImportError as err:
        raise RayEngineError(f"--engine ray needs Ray Data, which is not installed: {RAY_EXTRA}") from err
    return ray


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[ModuleType]:
    """Connect to the cluster at ``address`` (None: ``RAY_ADDRESS`` or a new local cluster) for one run.

    A process already connected to Ray (a notebook, a test session) keeps its connection and its cluster;
    otherwise the connection made here is closed afterwards, which also stops a local cluster started here.
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(address=address)
    except ConnectionError as err:
        raise RayEngineError(f"cannot reach a Ray cluster at {address}: {err}{_token_hint()}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _token_hint() -> str:
    """Why a running cluster may refuse this client: Ray 2.59+ turns token authentication on in ``ray start
    --head`` when a token file exists (any earlier local ``ray.init`` writes one), but a client sends the token
    only when ``RAY_AUTH_MODE=token``; the refusal then reads as an unreachable cluster."""
    if os.environ.get("RAY_AUTH_MODE"):
        return ""
    token = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if not token.is_file():
        return ""
    return (f" (this machine has a Ray token, {token}, so a cluster started here by `ray start` requires token "
            "authentication: run the command with RAY_AUTH_MODE=token)")


def add_engine_arguments(parser: argparse.ArgumentParser, what: str) -> argparse._ArgumentGroup:
    """``--engine`` and ``--address``, shared by the commands that run on Ray; returns the option group so a
    command can add its own Ray options to it."""
    group = parser.add_argument_group("engine", f"where the {what} run: this process, or a Ray cluster")
    group.add_argument("--engine", choices=("local", "ray"), default="local",
                       help=f"'ray' runs the {what} on a Ray cluster (results identical; needs {RAY_EXTRA})")
    group.add_argument("--address", help="Ray cluster to join (default: RAY_ADDRESS or a new local cluster)")
    return group


# -- scoring ---------------------------------------------------------------------------------------------------


def expand_items(items: Sequence[str], recursive: bool = False,
                 exclude: Callable[[Path], bool] | None = None) -> list[str]:
    """Inputs as the single-process command expands them (folders, globs, ``exclude``; see
    :func:`expand_inputs`), with URIs (``s3://``, ``gs://``, ``file://``...) kept as they are: each names one
    file."""
    from ipad_iqa.io import expand_inputs

    out: list[str] = []
    for item in items:
        out.extend([item] if URI_MARKER in item else map(str, expand_inputs([item], recursive, exclude)))
    return out


def _fetch(uri: str, folder: Path, slot: int) -> Path:
    """Copy the file at ``uri`` into ``folder`` (so the one image loader reads it); OSError if it cannot."""
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(uri)
    local = folder / f"{slot}-{Path(path).name}"
    with filesystem.open_input_stream(path) as stream:
        local.write_bytes(stream.readall())
    return local


class ScoreActor:
    """A Ray Data callable class: one metric per actor, built once, scoring one batch of inputs per call.

    A batch is a dict of columns with a ``path`` column of paths or URIs; the result has the single-process
    columns (:data:`~ipad_iqa.cli.score.COLUMNS`, one row per input, failures in ``error``) plus every other
    input column unchanged, so callers can carry ids or an order through.
    """

    def __init__(self, metric: str, device: str, head_weights: str | None, batch_size: int, threads: int) -> None:
        import torch

        from ipad_iqa.cli.score import make_pyiqa_scorer

        torch.set_num_threads(threads)
        self.scorer = make_pyiqa_scorer(metric, device, maps="grid",
                                        head_weights=Path(head_weights) if head_weights else None)
        self.batch_size = batch_size

    def score(self, items: Sequence[str]) -> list[ScoreRow]:
        """Rows for paths or URIs, in order: URIs are copied to a temporary folder, then everything is scored
        by the single-process :func:`score_paths`, so loading, batching by size and errors are its own."""
        from ipad_iqa.cli.score import ScoreRow, score_paths
        from ipad_iqa.io import missing_reason

        rows = [ScoreRow(item) for item in items]
        with tempfile.TemporaryDirectory(prefix="ipad-iqa-") as tmp:
            local: dict[int, Path] = {}
            for i, item in enumerate(items):
                try:
                    local[i] = _fetch(item, Path(tmp), i) if URI_MARKER in item else Path(item)
                except FileNotFoundError:
                    rows[i].error = missing_reason(Path(item))  # the single-process wording
                except (OSError, ValueError) as err:  # pyarrow: unreachable store, unknown scheme
                    rows[i].error = f"cannot fetch: {err}"
            scored = score_paths(list(local.values()), self.scorer, batch_size=self.batch_size, progress=False,
                                 thresholds=self.scorer.thresholds)
        for i, row in zip(local, scored, strict=True):
            row.path = items[i]
            rows[i] = row
        return rows

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        extra = {name: column for name, column in batch.items() if name != "path"}
        return extra | _columns(self.score([str(item) for item in batch["path"]]))


class _BatchActor(ScoreActor):
    """For the command: each dataset row is one whole batch of the single-process run (lists ``index`` and
    ``path``), so every image is scored in the same company as there and its numbers match (bit for bit at
    equal torch thread counts)."""

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        indices = [int(i) for chunk in batch["index"] for i in chunk]
        return {"index": indices} | _columns(self.score([str(p) for chunk in batch["path"] for p in chunk]))


def _columns(rows: Sequence[ScoreRow]) -> dict[str, list[Any]]:
    """Rows as the columns of a Ray batch, named as in the results file."""
    from ipad_iqa.cli.score import COLUMNS

    records = [row.as_record() for row in rows]
    return {name: [record[name] for record in records] for name in COLUMNS}


def _map_actors(dataset: ray.data.Dataset, actor: type[ScoreActor], rows_per_call: int, metric: str, *,
                device: str = "cpu", head_weights: str | Path | None = None, batch_size: int = 1, actors: int = 1,
                cpus_per_actor: int = 1) -> ray.data.Dataset:
    """``dataset`` mapped by a pool of ``actors`` instances of ``actor``, ``rows_per_call`` rows at a time."""
    import ray.data

    return dataset.map_batches(
        actor,
        fn_constructor_kwargs={"metric": metric, "device": device,
                               "head_weights": str(head_weights) if head_weights else None,
                               "batch_size": batch_size, "threads": cpus_per_actor},
        batch_size=rows_per_call, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=cpus_per_actor, num_gpus=1 if device == "cuda" else 0,
    )


def score_dataset(dataset: ray.data.Dataset, metric: str = "ipad_clip", *, device: str = "cpu",
                  head_weights: str | Path | None = None, batch_size: int = 1, actors: int = 1,
                  cpus_per_actor: int = 1) -> ray.data.Dataset:
    """Score a Ray dataset with a ``path`` column (paths or URIs): the Python recipe for large collections.

    Lazy, like any Ray dataset: write it where it belongs (``.write_parquet(dir)``) or collect it. Rows come
    back in no particular order (carry an id column through to join on). ``actors`` metric instances run at
    once, each on ``cpus_per_actor`` cores (its torch threads) and, with ``device='cuda'``, one GPU; each
    call scores ``batch_size`` rows, equally sized images together.
    """
    return _map_actors(dataset, ScoreActor, batch_size, metric, device=device, head_weights=head_weights,
                       batch_size=batch_size, actors=actors, cpus_per_actor=cpus_per_actor)


def command_batches(items: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices of ``items`` in the batches the single-process command scores together: files of one image
    size (read from their headers), at most ``batch_size``, unreadable ones alone. URIs, which that command
    does not read, go ``batch_size`` at a time in their order (the actor still batches them by size)."""
    from ipad_iqa.cli.score import _size_groups

    files = [i for i, item in enumerate(items) if URI_MARKER not in item]
    uris = [i for i, item in enumerate(items) if URI_MARKER in item]
    batches = [[files[k] for k in group] for group in _size_groups([Path(items[i]) for i in files], batch_size)]
    return batches + [uris[k : k + batch_size] for k in range(0, len(uris), batch_size)]


def score_items(items: Sequence[str], metric: str = "ipad_clip", *, batch_size: int = 1,
                **options: Any) -> list[ScoreRow]:
    """Score paths or URIs on the connected Ray cluster; one row per item, in the order given.

    Each actor call scores one batch of :func:`command_batches`, so rows equal the single-process rows (bit
    for bit at equal torch thread counts). ``options`` are those of :func:`score_dataset`. Only the small result rows travel back here.
    """
    import ray.data

    from ipad_iqa.cli.score import ScoreRow
    from ipad_iqa.output import ARTIFACT_CLASSES

    if not items:
        return []
    dataset = ray.data.from_items([{"index": batch, "path": [items[i] for i in batch]}
                                   for batch in command_batches(items, batch_size)])
    rows: list[ScoreRow | None] = [None] * len(items)
    scored = _map_actors(dataset, _BatchActor, 1, metric, batch_size=batch_size, **options)
    for batch in scored.iter_batches(batch_format="numpy", batch_size=None):
        for k, index in enumerate(batch["index"]):
            probs = tuple(float(batch[name][k]) for name in ARTIFACT_CLASSES)
            rows[int(index)] = ScoreRow(str(batch["path"][k]), float(batch["score"][k]), probs,
                                        str(batch["flagged"][k]), str(batch["error"][k]))
    lost = [items[i] for i, row in enumerate(rows) if row is None]
    if lost:  # Ray Data returns every row or raises; this guards the promise that no input is dropped
        raise RuntimeError(f"{len(lost)} inputs came back without a row from Ray, e.g. {lost[0]}")
    return rows  # type: ignore[return-value]  (every slot is filled, checked above)


def actor_count(ray: ModuleType, requested: int | None, device: str, cpus_per_actor: int) -> int:
    """``requested`` actors, by default one per GPU (cuda) or per ``cpus_per_actor`` CPUs of the cluster.

    A cuda run on a cluster without a GPU is refused here: Ray would otherwise wait for one forever.
    """
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if device == "cuda" and gpus < 1:
        raise RayEngineError("--device cuda was requested but the Ray cluster has no GPU; use --device cpu")
    if requested is not None:
        return requested
    return gpus if device == "cuda" else max(1, int(resources.get("CPU", 1) // cpus_per_actor))


def score_on_ray(args: argparse.Namespace) -> list[ScoreRow]:
    """``ipad-iqa score --engine ray``: the rows of the single-process command, scored by Ray actors.

    The metric is built once here first (on the CPU), so a bad name, option or weights file is a usage error
    before any cluster work starts, not an actor failure deep in Ray's logs.
    """
    from ipad_iqa.cli.score import UsageError, make_pyiqa_scorer, own_outputs
    from ipad_iqa.io import shown_path

    if args.maps_dir is not None:
        raise UsageError("--maps-dir writes overlays in this process; it is not available with --engine ray")
    make_pyiqa_scorer(args.metric, "cpu", maps="grid", head_weights=args.head_weights)
    items = expand_items(args.paths, recursive=args.recursive, exclude=own_outputs(None, args.out))
    if odd := next((item for item in items if item != shown_path(item)), None):
        raise UsageError(f"{shown_path(odd)}: a file name that is not UTF-8 cannot travel to Ray actors; score "
                         f"such files without --engine ray")
    try:
        with ray_session(args.address) as ray:
            actors = actor_count(ray, args.actors, args.device, args.cpus_per_actor)
            return score_items(items, args.metric, device=args.device, head_weights=args.head_weights,
                               batch_size=args.batch_size, actors=actors, cpus_per_actor=args.cpus_per_actor)
    except RayEngineError as err:
        raise UsageError(str(err)) from None


# -- shards ----------------------------------------------------------------------------------------------------


def _write_shards_task(options: dict[str, Any]) -> str:
    """One Ray task: its disjoint share of the shards, synthesized in one thread (as a local worker is)."""
    from ipad_iqa.data.perceptual import synthesis_threads
    from ipad_iqa.data.shards import write_shards

    with synthesis_threads():
        return write_shards(**options, workers=1, progress=False)


def task_splits(shard_index: int, num_shards: int, tasks: int) -> list[tuple[int, int]]:
    """(shard_index, num_shards) of each of ``tasks`` tasks sharing process ``shard_index`` of ``num_shards``.

    Process s of N writes shards s, s + N, s + 2N...; task t is process ``s + t * N`` of ``N * tasks``, which
    writes s + tN, s + tN + N * tasks...: the tasks' shards are disjoint and together exactly the process's.
    """
    return [(shard_index + t * num_shards, num_shards * tasks) for t in range(tasks)]


def write_shards_on_ray(out: str | Path, clean_dir: str | Path, n: int, seed: int, size: int = 384,
                        split: str = "train", shard_index: int = 0, num_shards: int = 1, shard_size: int = 128,
                        address: str | None = None, ghosting_modes: tuple[float, ...] | None = None
                        ) -> list[str]:
    """The shards that :func:`write_shards` writes for ``shard_index`` of ``num_shards``, as Ray tasks.

    This process's shards are split among Ray tasks by :func:`task_splits`, so the files are those of a
    serial run. There is one task per CPU of the cluster, at most one per shard: every task decodes the photo
    pool once, so more tasks than cores would only repeat that. Returns each task's summary line. A task's
    failure is raised here as the error it raised there.
    """
    from ipad_iqa.data.shards import my_shards
    from ipad_iqa.data.synth.ghosting import check_mode_probs

    if shard_size < 1:  # checked by ShardSpec too, but the task count below divides by it first
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    if ghosting_modes is not None:  # checked by the tasks too, but only after a cluster has started
        check_mode_probs(ghosting_modes)
    mine = len(my_shards(-(-n // shard_size), shard_index, num_shards))
    with ray_session(address) as ray:
        tasks = max(1, min(mine, int(ray.cluster_resources().get("CPU", 1))))
        remote = ray.remote(num_cpus=1)(_write_shards_task)
        options = {"out": str(out), "clean_dir": str(clean_dir), "n": n, "seed": seed, "size": size,
                   "split": split, "shard_size": shard_size, "ghosting_modes": ghosting_modes}
        refs = [remote.remote(options | {"shard_index": index, "num_shards": count})
                for index, count in task_splits(shard_index, num_shards, tasks)]
        try:
            return ray.get(refs)
        except ray.exceptions.RayTaskError as err:
            raise err.cause from None
