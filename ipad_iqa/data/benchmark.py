"""Writer and reader of the IPAD-Synth benchmark folder: images, masks, ``manifest.csv``, reproducibly and safely.

Layout of ``OUT``::

    benchmark.json          the specification (counts, seed, size, sources, code version): identifies the benchmark
    manifest.csv            image,mask,label,split,source,severity,params,reference (paths relative to OUT)
    SHA256SUMS              checksum of every image, mask and reference, for verification on rerun
    skipped_sources.csv     unreadable or too small source photos, with the reason (header only if none)
    images/<split>/<label>/<index>.png, masks/<split>/<label>/<index>.png (no mask for clean)
    references/<split>/<label>/<index>.png  clean twin of each artifact image (none for clean rows)

Every sample is a pure function of ``(seed, index)`` and its source, so the output is byte-identical whatever
the number of workers. Images are PNG for all labels (lossless on top of the shared JPEG history applied by
``pipeline.finish``), so the file encoding is identical for every label.

The reference of an artifact image is ``render_sample(source, "clean", same seed)``: ``render_sample`` draws
canvas, synthesis and finishing from independent streams, so the twin has the same crop, noise and JPEG
quality and differs only where the synthesizer acted (plus JPEG block spread). Full-reference baselines (PSNR,
SSIM) need exactly this; a clean row is its own reference, so its ``reference`` cell is empty.

The reader (``read_manifest``, ``read_mask`` and the torch dataset ``IPADBenchmark``) sits beside the writer, so
that the folder's format is known in one module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ipad_iqa.data.datasets import to_item
from ipad_iqa.data.perceptual import (
    DEFOCUS_RATE,
    GHOSTING_MODE_DRAW,
    LIGHT_RATE,
    V2_GHOSTING_MODES,
    InvisibleArtifactError,
    clean_twin,
    mask_levels,
    one_thread_per_process,
    pinned_options,
    render_visible_sample,
)
from ipad_iqa.data.pipeline import Sample, load_photo, render_sample
from ipad_iqa.data.sources import (
    SKIMAGE_PREFIX,
    SKIMAGE_SAMPLES,
    list_clean_pool,
    skimage_loader,
    source_name,
)
from ipad_iqa.data.splits import SPLITS, split_of
from ipad_iqa.data.synth.common import as_rgb
from ipad_iqa.data.synth.ghosting import check_mode_probs, check_reflection_scene
from ipad_iqa.io import load_image, open_image
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS

FORMAT_VERSION = 2  # 2: references/ and the manifest's reference column
MANIFEST_COLUMNS = ("image", "mask", "label", "split", "source", "severity", "params", "reference")
VERSIONS: tuple[str, ...] = ("v1", "v2")
# The params field that names an artifact's subtype, for results per subtype (eval: ``by_subtype``); moire has
# none. (Not params["kind"], which repeats the class.)
SUBTYPE_FIELDS: dict[str, str] = {"ghosting": "mode", "flare": "variant"}
V2_ATTEMPTS = 4  # seeds tried on a sample's photo before it is recorded as having no visible artifact


class BenchmarkExistsError(RuntimeError):
    """OUT already holds something else: we never overwrite a benchmark silently."""


@dataclass(frozen=True)
class BenchmarkSpec:
    """Everything that determines the benchmark's bytes."""

    n_per_class: int
    n_clean: int
    seed: int
    size: int
    sources: tuple[str, ...]  # readable source names, in order
    source_root: str  # clean directory, or "skimage"
    format_version: int = FORMAT_VERSION
    # Options off by default, and then left out of benchmark.json so that folders written before they existed
    # still verify. ghosting_modes: the mix of ghosting modes (None: the synthesizer's default, as in v1).
    # splits: write only the samples of these scene splits, at the indices (and bytes) of the full benchmark.
    # reflection_scene: "other" makes a reflection show a second source photo of the same split (task_scenes).
    ghosting_modes: tuple[float, ...] | None = None
    splits: tuple[str, ...] | None = None
    reflection_scene: str = "self"
    # "v1": binary masks of what the synthesizer changed; "v2": perceptual three-level masks and severity as
    # visibility (ipad_iqa.data.perceptual), with a jod column in the manifest
    version: str = "v1"

    def __post_init__(self) -> None:
        check_options(self.ghosting_modes, self.splits, self.reflection_scene)
        if self.version not in VERSIONS:
            raise ValueError(f"version must be one of {VERSIONS}, got {self.version!r}")

    def to_json(self) -> dict:
        data = asdict(self) | {"sources": list(self.sources)}
        for key in ("ghosting_modes", "splits"):
            if data[key] is None:
                del data[key]
            else:
                data[key] = list(data[key])
        if self.reflection_scene == "self":
            del data["reflection_scene"]
        if self.version == "v1":  # v1 folders were written before versions existed
            del data["version"]
        else:  # v2's share of lit canvases shapes its bytes; a v2 folder written before scene lights has none
            data["light_rate"] = LIGHT_RATE
            data["defocus_rate"] = DEFOCUS_RATE
            data["ghosting_mode_draw"] = GHOSTING_MODE_DRAW
        return data

    @property
    def columns(self) -> tuple[str, ...]:
        return MANIFEST_COLUMNS + (("jod",) if self.version == "v2" else ())


def check_options(ghosting_modes: tuple[float, ...] | None, splits: tuple[str, ...] | None,
                  reflection_scene: str = "self") -> None:
    """ValueError naming a bad option of :class:`BenchmarkSpec` (checked before any photo is decoded)."""
    if ghosting_modes is not None:
        check_mode_probs(ghosting_modes)
    if splits is not None and (not splits or not set(splits) <= set(SPLITS)):
        raise ValueError(f"splits must be a non-empty subset of {SPLITS}, got {splits!r}")
    check_reflection_scene(reflection_scene)


def discover_sources(clean_dir: str | Path | None) -> tuple[dict[str, Callable[[], np.ndarray]], str]:
    """Name -> loader of every candidate source: the files of ``clean_dir``, or the scikit-image samples."""
    if clean_dir is None:
        return {SKIMAGE_PREFIX + n: skimage_loader(n) for n in SKIMAGE_SAMPLES}, "skimage"
    root = Path(clean_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"--clean-dir {root} is not a directory")
    return {source_name(p, root): (lambda p=p: load_photo(p)) for p in list_clean_pool(root)}, str(root.resolve())


def check_sources(loaders: dict[str, Callable[[], np.ndarray]]) -> tuple[list[str], list[tuple[str, str]]]:
    """Decode every source once: (readable names, [(name, reason)] of the skipped ones)."""
    ok, skipped = [], []
    for name, load in loaders.items():
        try:
            as_rgb(load())
            ok.append(name)
        except Exception as exc:  # any decoding failure means: skip and record
            skipped.append((name, f"{type(exc).__name__}: {exc}"))
    return ok, skipped


def task_labels(spec: BenchmarkSpec) -> list[str]:
    """Label of every sample index: a seeded interleaving of the requested counts."""
    labels = ["clean"] * spec.n_clean + [a for a in ARTIFACT_CLASSES for _ in range(spec.n_per_class)]
    order = np.random.default_rng([spec.seed, 0]).permutation(len(labels))
    return [labels[i] for i in order]


def task_sources(spec: BenchmarkSpec, n: int) -> list[str]:
    """Source of every sample index: sources cycled in a seeded order, so each photo is used about equally."""
    perm = np.random.default_rng([spec.seed, 1]).permutation(len(spec.sources))
    return [spec.sources[perm[i % len(perm)]] for i in range(n)]


def task_scenes(spec: BenchmarkSpec, labels: Sequence[str], sources: Sequence[str]) -> list[str | None]:
    """The photo each ghosting sample's reflection shows when ``reflection_scene`` is "other": another source
    of the same scene split (test reflections never show a training scene), drawn from ``(seed, 3, index)``
    alone so that a split subset gets the same scenes. None elsewhere."""
    if spec.reflection_scene == "self":
        return [None] * len(labels)
    by_split: dict[str, list[str]] = {}
    for name in spec.sources:
        by_split.setdefault(split_of(name), []).append(name)
    scenes: list[str | None] = []
    for index, (label, source) in enumerate(zip(labels, sources, strict=True)):
        others = [n for n in by_split[split_of(source)] if n != source] if label == "ghosting" else []
        # others is empty for non-ghosting rows and for a split of one photo, which reflects itself as with "self"
        scenes.append(others[int(np.random.default_rng([spec.seed, 3, index]).integers(len(others)))]
                      if others else None)
    return scenes


def _png(array: np.ndarray) -> bytes:
    """Deterministic PNG bytes (fixed compression, no metadata)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


_LOADERS: dict[str, Callable[[], np.ndarray]] = {}


@lru_cache(maxsize=8)
def _cached_source(name: str) -> np.ndarray:
    return as_rgb(_LOADERS[name]())


def _init_worker(loaders: dict[str, Callable[[], np.ndarray]]) -> None:
    _LOADERS.clear()
    _LOADERS.update(loaders)


def sample_seed(seed: int, index: int) -> tuple[int, int, int]:
    """Seed tuple of sample ``index`` (shared by its image and its clean reference)."""
    return seed, 2, index


# index, label, source, seed, size, ghosting modes, reflected scene, version
Job = tuple[int, str, str, int, int, tuple[float, ...] | None, str | None, str]


def _render_v2(image: np.ndarray, label: str, seed: tuple[int, ...], size: int, options: dict | None,
               scene: Callable[[], np.ndarray] | None) -> Sample | str:
    """The v2 sample, trying further seeds of the same photo when one shows no visible artifact; the reasons
    (a string) when none does."""
    errors = []
    options = pinned_options(label, seed, options)
    for attempt in range(V2_ATTEMPTS):
        try:
            sample = render_visible_sample(image, label, (*seed, attempt), size, synth_options=options, scene=scene)
            return replace(sample, params=sample.params | {"seed_attempt": attempt})
        except InvisibleArtifactError as err:
            errors.append(str(err))
    return "; ".join(errors)


def _render(job: Job) -> tuple[dict, list[tuple[str, bytes]]]:
    """Render sample ``index``: its manifest row and its files as (path relative to OUT, PNG bytes).

    A v2 sample whose photo never gives a visible artifact returns a row with an ``error`` and no files.
    """
    index, label, source, seed, size, ghosting_modes, scene, version = job
    image = _cached_source(source)
    options = None if ghosting_modes is None else {"ghosting": {"mode_probs": ghosting_modes}}
    scene_fn = None if scene is None else partial(_cached_source, scene)
    if version == "v2":
        sample = _render_v2(image, label, sample_seed(seed, index), size, options, scene_fn)
        if isinstance(sample, str):
            return {"index": index, "source": source, "label": label, "error": sample}, []
    else:
        sample = render_sample(image, label, sample_seed(seed, index), size,
                               min_mask_pixels=max(32, size * size // 2000), synth_options=options, scene=scene_fn)
    split = split_of(source)
    stem = f"{split}/{label}/{index:05d}.png"
    row = {
        "image": f"images/{stem}",
        "mask": "",
        "label": label,
        "split": split,
        "source": source,
        "severity": f"{sample.severity:.4f}",
        "params": json.dumps(sample.params, sort_keys=True, separators=(",", ":")),
        "reference": "",
    }
    files = [(row["image"], _png(sample.image))]
    if version == "v2":
        row["jod"] = f"{sample.jod:.4f}"
    if label != "clean":
        row["mask"], row["reference"] = f"masks/{stem}", f"references/{stem}"
        if version == "v2":  # the twin the mask rule compared with: same canvas and finishing draws
            twin = clean_twin(image, label, (*sample_seed(seed, index), sample.params["seed_attempt"]), size)
            mask = sample.mask
        else:
            twin = render_sample(image, "clean", sample_seed(seed, index), size)
            mask = sample.mask.astype(np.uint8) * 255
        files += [(row["mask"], _png(mask)), (row["reference"], _png(twin.image))]
    return row, files


def _jobs(spec: BenchmarkSpec) -> list[Job]:
    labels = task_labels(spec)
    sources = task_sources(spec, len(labels))
    scenes = task_scenes(spec, labels, sources)
    return [(i, labels[i], sources[i], spec.seed, spec.size, spec.ghosting_modes, scenes[i], spec.version)
            for i in range(len(labels)) if spec.splits is None or split_of(sources[i]) in spec.splits]


def _pool_worker(init: Callable[[dict], None], loaders: dict) -> None:
    one_thread_per_process()
    init(loaders)


def render_in_order(render: Callable, jobs: Sequence, init: Callable[[dict], None], loaders: dict, workers: int,
                    chunksize: int) -> Iterator:
    """``render`` over ``jobs`` in order, in this process or a fork pool of ``workers`` (each initialised with
    ``init(loaders)``, one torch thread); ``imap`` keeps results ordered so output never depends on ``workers``."""
    if workers <= 1:
        init(loaders)
        yield from map(render, jobs)
        return
    import multiprocessing as mp

    with mp.get_context("fork").Pool(workers, initializer=_pool_worker, initargs=(init, loaders)) as pool:
        yield from pool.imap(render, jobs, chunksize=chunksize)


def _run_jobs(jobs: Sequence[tuple], loaders: dict, workers: int) -> Iterator[tuple[dict, list[tuple[str, bytes]]]]:
    return render_in_order(_render, jobs, _init_worker, loaders, workers, chunksize=4)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify(out: Path) -> list[str]:
    """Files listed in SHA256SUMS that are missing or differ."""
    sums = out / "SHA256SUMS"
    if not sums.is_file() or not (out / "manifest.csv").is_file():
        return ["SHA256SUMS/manifest.csv"]
    bad = []
    for line in sums.read_text().splitlines():
        digest, rel = line.split("  ", 1)
        p = out / rel
        if not p.is_file() or _sha(p.read_bytes()) != digest:
            bad.append(rel)
    return bad


def write_benchmark(out: str | Path, clean_dir: str | Path | None, n_per_class: int, n_clean: int, seed: int,
                    size: int, workers: int = 1, progress: bool = True,
                    ghosting_modes: tuple[float, ...] | None = None, splits: tuple[str, ...] | None = None,
                    reflection_scene: str | None = None, version: str = "v2") -> str:
    """Write (or verify, or finish) the benchmark in ``out``; returns a one-line summary.

    Refuses with :class:`BenchmarkExistsError` when ``out`` is non-empty and is not this same benchmark.
    ``ghosting_modes``, ``splits``, ``reflection_scene`` and ``version`` are the options of
    :class:`BenchmarkSpec`; ``None`` ghosting modes and reflection scene take the version's defaults (v1: the
    synthesizer's mix, reflecting the photo itself; v2: ``V2_GHOSTING_MODES``, reflecting another photo).
    """
    from tqdm import tqdm

    out = Path(out)
    if version == "v2":
        ghosting_modes = V2_GHOSTING_MODES if ghosting_modes is None else ghosting_modes
    reflection_scene = reflection_scene or ("other" if version == "v2" else "self")
    check_options(ghosting_modes, splits, reflection_scene)
    loaders, root = discover_sources(clean_dir)
    names, skipped = check_sources(loaders)
    for name, reason in skipped:
        print(f"warning: skipping unreadable source {name}: {reason}", file=sys.stderr)
    if not names:
        raise ValueError("no readable source images")
    spec = BenchmarkSpec(n_per_class, n_clean, seed, size, tuple(names), root, ghosting_modes=ghosting_modes,
                         splits=splits, reflection_scene=reflection_scene, version=version)
    spec_file = out / "benchmark.json"
    if out.exists() and any(out.iterdir()):
        if not spec_file.is_file():
            raise BenchmarkExistsError(f"{out} is not empty and holds no benchmark.json; choose an empty folder")
        if json.loads(spec_file.read_text()) != spec.to_json():
            raise BenchmarkExistsError(f"{out} holds a different benchmark (see {spec_file}); refusing to overwrite."
                                       " Use another --out or delete the folder yourself.")
        if not _verify(out):
            return f"{out}: benchmark already complete and verified ({len(_jobs(spec))} samples); nothing to do"
    out.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(json.dumps(spec.to_json(), indent=1) + "\n")
    with (out / "skipped_sources.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "reason"])
        w.writerows(skipped)
    jobs = _jobs(spec)
    rows, sums, failed = [], [], []
    results = _run_jobs(jobs, {n: loaders[n] for n in names}, workers)
    for row, files in tqdm(results, total=len(jobs), disable=not progress, desc="IPAD-Synth"):
        for rel, data in files:
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sums.append(f"{_sha(data)}  {rel}")
        (failed if "error" in row else rows).append(row)
    with (out / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=spec.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    if spec.version == "v2":  # samples with no visible artifact on their photo: recorded, never labelled
        with (out / "skipped_samples.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=("index", "source", "label", "error"), lineterminator="\n")
            writer.writeheader()
            writer.writerows(failed)
        sums.append(f"{_sha((out / 'skipped_samples.csv').read_bytes())}  skipped_samples.csv")
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return (f"{out}: wrote {len(rows)} samples from {len(names)} sources ({len(skipped)} skipped"
            + (f", {len(failed)} samples without a visible artifact" if spec.version == "v2" else "") + ")")


@dataclass(frozen=True)
class ManifestRow:
    """One sample of a written benchmark as ``manifest.csv`` lists it; paths are absolute."""

    key: str  # the image path relative to the benchmark folder: names the sample
    image: Path
    mask: Path | None  # None for clean rows
    label: str
    split: str
    source: str
    severity: float | None  # None where the manifest leaves it empty
    jod: float | None  # v2: image JOD against the clean twin; None in v1 benchmarks
    params: dict
    # the clean twin: the manifest's reference column, else (benchmarks written before it existed) the clean
    # image of the same source; a clean row is its own reference; None where neither exists
    reference: Path | None

    @property
    def subtype(self) -> str | None:
        """The subtype of artifact its synthesizer drew (``SUBTYPE_FIELDS``: a ghosting mode, a day or night flare)."""
        value = self.params.get(SUBTYPE_FIELDS.get(self.label, ""))
        return value if isinstance(value, str) else None


def _severity(row: dict) -> float | None:
    value = row.get("severity") or ""
    try:
        return float(value) if value.strip() else None
    except ValueError:
        raise ValueError(f"manifest row {row['image']}: severity {value!r} is not a number") from None


def read_manifest(root: str | Path, split: str | None = None, labels: Sequence[str] | None = None
                  ) -> list[ManifestRow]:
    """The rows of ``root/manifest.csv``, in order, optionally only those of one split and some labels."""
    root = Path(root)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: write the benchmark with `ipad-iqa make-benchmark`")
    with manifest.open(newline="") as f:
        raw = list(csv.DictReader(f))
    clean_of = {(r["split"], r["source"]): r["image"] for r in raw if r["label"] == "clean"}
    rows = []
    for r in raw:
        if (split is not None and r["split"] != split) or (labels is not None and r["label"] not in labels):
            continue
        ref = r.get("reference") or (r["image"] if r["label"] == "clean" else clean_of.get((r["split"], r["source"])))
        rows.append(ManifestRow(key=r["image"], image=root / r["image"], mask=root / r["mask"] if r["mask"] else None,
                                label=r["label"], split=r["split"], source=r["source"], severity=_severity(r),
                                jod=float(r["jod"]) if r.get("jod") else None,
                                params=json.loads(r["params"] or "{}"), reference=root / ref if ref else None))
    return rows


def read_mask(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A written mask as (visible, ignore) (H, W) bools: v2 masks are 255 / 128 (uncertain) / 0, v1 255 / 0."""
    with open_image(Path(path)) as im:
        return mask_levels(np.asarray(im.convert("L")))


class IPADBenchmark(Dataset):
    """A written IPAD-Synth benchmark at full resolution, in the item layout of ``IPADSynthDataset``.

    Items also carry ``path`` (image path relative to ``root``); the parsed manifest rows are in ``self.rows``,
    in item order.
    """

    def __init__(self, root: str | Path, split: str | None = None, labels: Sequence[str] | None = None) -> None:
        self.root = Path(root)
        self.rows = read_manifest(self.root, split, labels)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        row = self.rows[index]
        image = load_image(row.image)
        empty = np.zeros(image.shape[-2:], bool)
        mask, ignore = read_mask(row.mask) if row.mask else (empty, empty)
        return to_item(image, mask, LABELS.index(row.label), row.severity or 0.0) | {
            "path": row.key, "valid": torch.from_numpy((~ignore).astype(np.float32))}
