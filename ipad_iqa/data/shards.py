"""IPAD-Synth v2 training shards: canvases synthesized once, read many times with random crops and flips.

Synthesis with perceptual labels costs about a second per canvas; a training step wants hundreds of samples a
minute. So canvases are written once into WebDataset tar shards (the format open_clip trains from: plain POSIX
tar, one group of files per sample, readable by ``webdataset`` or ``tarfile``)::

    OUT/spec.json                the ShardSpec (identical bytes from every process)
    OUT/shard-00000.tar ...      per sample KEY: KEY.npy (uint8 RGB, H x W x 3), KEY.mask.png (0/128/255),
                                 KEY.json

The image is stored raw (NumPy's .npy, which WebDataset decodes too): decoding a PNG canvas took nearly 80 % of a
training view's cost, and disk is cheaper than cores (the recipe's 4,096 canvases: 1.8 GB raw, 1.0 GB as PNG).
Masks, a few levels in large flat regions, stay PNG (1-2 kB). Shards written with PNG images (``KEY.png``, before
the .npy format) still read.

Sample ``i`` lives in shard ``i // shard_size`` and is a pure function of ``(seed, i)`` and the photo pool,
so processes that write disjoint shard sets (``shard_index`` of ``num_shards``: a Slurm array, Ray tasks,
torchrun ranks) produce exactly the files of a serial run. Tar headers carry no time, owner or order that
depends on the run.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from PIL import Image

from ipad_iqa.data.benchmark import _png, check_sources, discover_sources, render_in_order
from ipad_iqa.data.perceptual import (
    GHOSTING_MODE_DRAW,
    V2_GHOSTING_MODES,
    InvisibleArtifactError,
    pinned_options,
    render_visible_sample,
)
from ipad_iqa.data.splits import SPLITS, split_of
from ipad_iqa.data.synth.ghosting import check_mode_probs
from ipad_iqa.output import ARTIFACT_CLASSES, LABELS

SOURCE_ATTEMPTS = 4  # photos tried for one sample before it is recorded as failed
IMAGE_FORMATS = ("npy", "png")  # a sample's image member: written as .npy; .png in shards of earlier versions
CANVAS_SIZE = 384  # square canvas side of the training shards; crops of the recipe's size are taken from it


@dataclass(frozen=True)
class ShardSpec:
    """Everything that determines the shards' bytes."""

    n: int
    seed: int
    size: int
    split: str
    sources: tuple[str, ...]
    source_root: str
    shard_size: int = 128
    class_probs: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25)
    version: str = "v2"
    # probabilities of the ghosting modes motion, fusion, optical, reflection
    ghosting_modes: tuple[float, float, float, float] = V2_GHOSTING_MODES

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.n < 1 or self.shard_size < 1 or self.size < 64:
            raise ValueError("n and shard_size must be >= 1 and size >= 64")
        p = np.asarray(self.class_probs, float)
        if p.shape != (4,) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError(f"class_probs must be 4 non-negative numbers with a positive sum, got {self.class_probs}")
        check_mode_probs(self.ghosting_modes)

    @property
    def num_shards(self) -> int:
        return -(-self.n // self.shard_size)

    def to_json(self) -> dict:
        """The spec as spec.json holds it; ``ghosting_modes`` only when not v2's mix, so shards written before
        the option existed still verify."""
        data = asdict(self) | {"sources": list(self.sources), "class_probs": list(self.class_probs),
                               "ghosting_mode_draw": GHOSTING_MODE_DRAW}
        data.pop("ghosting_modes")
        if self.ghosting_modes != V2_GHOSTING_MODES:
            data["ghosting_modes"] = list(self.ghosting_modes)
        return data


def shard_name(k: int) -> str:
    return f"shard-{k:05d}.tar"


def my_shards(num: int, shard_index: int, num_shards: int) -> list[int]:
    """Shards written by process ``shard_index`` of ``num_shards``: every ``num_shards``-th one."""
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard index {shard_index} outside 0..{num_shards - 1}")
    return list(range(shard_index, num, num_shards))


_LOADERS: dict[str, Callable[[], np.ndarray]] = {}


@lru_cache(maxsize=16)
def _source(name: str) -> np.ndarray:
    return _LOADERS[name]()


def _init(loaders: dict[str, Callable[[], np.ndarray]]) -> None:
    _LOADERS.clear()
    _LOADERS.update(loaders)
    _source.cache_clear()


def render_index(spec: ShardSpec, index: int) -> tuple[dict, bytes | None, bytes | None]:
    """Sample ``index``: its JSON record, the image's .npy bytes and the mask's PNG bytes (None, None when
    every photo tried gave no visible artifact; the record then says why)."""
    p = np.asarray(spec.class_probs, float)
    label = LABELS[int(np.random.default_rng([spec.seed, 0, index]).choice(4, p=p / p.sum()))]
    errors = []
    options = pinned_options(label, (spec.seed, 2, index), {"ghosting": {"mode_probs": spec.ghosting_modes},
                                                        "moire": {"fine_grey": 0.25}})
    for attempt in range(SOURCE_ATTEMPTS):
        k = int(np.random.default_rng([spec.seed, 1, index, attempt]).integers(len(spec.sources)))
        source = spec.sources[k]
        scene = None
        if label == "ghosting" and len(spec.sources) > 1:  # a reflection shows another photo of the split
            j = int(np.random.default_rng([spec.seed, 3, index, attempt]).integers(len(spec.sources) - 1))
            scene = partial(_source, spec.sources[j + (j >= k)])
        try:
            s = render_visible_sample(_source(source), label, (spec.seed, 2, index, attempt), spec.size,
                                      synth_options=options, scene=scene)
        except InvisibleArtifactError as err:
            errors.append(f"{source}: {err}")
            continue
        record = {"label": label, "label_index": LABELS.index(label), "severity": round(s.severity, 4),
                  "jod": round(float(s.jod), 4), "source": source, "params": s.params, "source_attempt": attempt}
        return record, _npy(s.image), _png(s.mask)
    return {"label": label, "error": "; ".join(errors)}, None, None


def _npy(array: np.ndarray) -> bytes:
    """The array in NumPy's .npy format (its header depends on dtype and shape only)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _tar_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A tar of ``members`` whose bytes depend on names and contents only."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _members(record: dict, image: bytes | None, mask: bytes | None, index: int) -> list[tuple[str, bytes]]:
    key = f"{index:08d}"
    out = [] if image is None else [(f"{key}.npy", image), (f"{key}.mask.png", mask)]
    return out + [(f"{key}.json", json.dumps(record, sort_keys=True, separators=(",", ":")).encode())]


def _render_job(job: tuple[ShardSpec, int]) -> list[tuple[str, bytes]]:
    spec, index = job
    return _members(*render_index(spec, index), index)


def write_shards(out: str | Path, clean_dir: str | Path, n: int, seed: int, size: int = CANVAS_SIZE, split: str = "train",
                 shard_index: int = 0, num_shards: int = 1, workers: int = 1, shard_size: int = 128,
                 progress: bool = True, ghosting_modes: tuple[float, ...] | None = None) -> str:
    """Write this process's shards of the spec into ``out``; returns a one-line summary.

    A shard already on disk is kept (an interrupted run resumes where it stopped); a different spec in ``out``
    is refused, never overwritten. ``ghosting_modes``: the probabilities of the ghosting modes motion, fusion,
    optical and reflection (None: v2's mix, ``V2_GHOSTING_MODES``).
    """
    from tqdm import tqdm

    modes = V2_GHOSTING_MODES if ghosting_modes is None else tuple(map(float, ghosting_modes))
    check_mode_probs(modes)  # before the photo pool is read: a typo should not wait for every header
    out = Path(out)
    loaders, root = discover_sources(clean_dir)
    loaders = {name: load for name, load in loaders.items() if split_of(name) == split}
    names, skipped = check_sources(loaders)
    if not names:
        raise ValueError(f"no readable {split}-split photos in {clean_dir}")
    spec = ShardSpec(n, seed, size, split, tuple(names), root, shard_size, ghosting_modes=modes)
    spec_file = out / "spec.json"
    text = json.dumps(spec.to_json(), indent=1) + "\n"
    if spec_file.is_file() and spec_file.read_text() != text:
        raise FileExistsError(f"{out} holds shards of another spec (see {spec_file}); choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: parallel writers (Ray tasks, array jobs) must never read a half-written spec.
    tmp = out / f".spec-{uuid.uuid4().hex}.tmp"
    tmp.write_text(text)
    tmp.replace(spec_file)
    todo = [k for k in my_shards(spec.num_shards, shard_index, num_shards) if not (out / shard_name(k)).is_file()]
    indices = [i for k in todo for i in range(k * shard_size, min(n, (k + 1) * shard_size))]
    results = _render_all([(spec, i) for i in indices], {m: loaders[m] for m in names}, workers)
    bar = tqdm(total=len(indices), disable=not progress, desc=f"shards {shard_index}/{num_shards}")
    failed = 0
    for k in todo:
        members: list[tuple[str, bytes]] = []
        for _ in range(min(n, (k + 1) * shard_size) - k * shard_size):
            group = next(results)
            failed += not any(name.endswith(".mask.png") for name, _ in group)
            members += group
            bar.update()
        tmp = out / (shard_name(k) + ".tmp")
        tmp.write_bytes(_tar_bytes(members))
        tmp.replace(out / shard_name(k))
    bar.close()
    return (f"{out}: wrote {len(todo)} shard(s), {len(indices)} samples ({failed} without a visible artifact, "
            f"recorded), from {len(names)} {split} photos ({len(skipped)} unreadable)")


def _render_all(jobs: list[tuple[ShardSpec, int]], loaders: dict, workers: int) -> Iterator[list]:
    """Rendered samples in job order, here or in a pool of ``workers`` processes."""
    return render_in_order(_render_job, jobs, _init, loaders, workers, chunksize=2)


@dataclass(frozen=True)
class ShardRecord:
    """Where one sample's files sit inside its tar (byte offsets), and its metadata."""

    path: Path
    image: tuple[int, int]  # offset, size
    mask: tuple[int, int]
    meta: dict
    image_format: str = "npy"  # "png" in shards written before the .npy format


def index_shards(paths: Sequence[str | Path]) -> tuple[list[ShardRecord], list[dict]]:
    """Records of every sample with an image, and the metadata of those recorded as failed."""
    records, failed = [], []
    for path in map(Path, paths):
        groups: dict[str, dict] = {}
        with tarfile.open(path) as tar:
            for m in tar:
                key, _, ext = m.name.partition(".")
                g = groups.setdefault(key, {})
                if ext == "json":
                    g["meta"] = json.loads(tar.extractfile(m).read())
                else:
                    g[ext] = (m.offset_data, m.size)
        for g in groups.values():
            fmt = next((f for f in IMAGE_FORMATS if f in g), None)
            if fmt:
                records.append(ShardRecord(path, g[fmt], g["mask.png"], g["meta"], fmt))
            else:
                failed.append(g["meta"])
    return records, failed


def shard_paths(root: str | Path) -> list[Path]:
    """The shard files of a folder written by :func:`write_shards`, in order."""
    paths = sorted(Path(root).glob("shard-*.tar"))
    if not paths:
        raise FileNotFoundError(f"no shard-*.tar in {root}: write them with `ipad-iqa make-shards`")
    return paths


def read_member(path: Path, span: tuple[int, int], fmt: str) -> np.ndarray:
    """One image of a shard, as uint8, from its byte span in the tar."""
    with path.open("rb") as f:
        f.seek(span[0])
        data = io.BytesIO(f.read(span[1]))
    return np.load(data, allow_pickle=False) if fmt == "npy" else np.asarray(Image.open(data))


@dataclass(frozen=True)
class ShardDatasetConfig:
    """How training views are cut from shard canvases."""

    crop_size: int = 224
    views_per_canvas: int = 8  # passes over the canvases; each pass cuts a new crop and flip of every canvas
    mask_crop_bias: float = 0.5  # probability that an artifact canvas's crop is centred on a visible pixel
    min_visible_pixels: int = 32  # fewer in the crop: not an artifact view (uncertain ones are left out)
    seed: int = 0


class ShardDataset:
    """Training views from IPAD-Synth v2 shards; item ``i`` depends only on ``(config.seed, i)``.

    Item ``i`` is canvas ``perm[i % n]`` (a seeded permutation), so consecutive items are different canvases and
    pass ``i // n`` of the data cuts a fresh random crop (biased toward the artifact) and horizontal flip.
    Returns the layout of the on-the-fly dataset plus ``valid`` (h,w), 0 on the ignore band: ``image``
    (3,h,w) float32 in [0,1], ``masks`` (3,h,w) visible artifact per class, ``label`` int64 (0 clean,
    1 ghosting, 2 flare, 3 moire, -1 when the crop holds only uncertain artifact pixels: no image-level
    target), ``severity``.
    """

    def __init__(self, root: str | Path, config: ShardDatasetConfig = ShardDatasetConfig()) -> None:
        self.records, self.failed = index_shards(shard_paths(root))
        if not self.records:
            raise ValueError(f"{root}: the shards hold no sample with an image")
        size = min(read_member(self.records[0].path, self.records[0].mask, "png").shape)
        if config.crop_size > size:
            raise ValueError(f"crop_size {config.crop_size} exceeds the shards' canvas size {size}")
        self.config = config
        self.order = np.random.default_rng([config.seed, 7]).permutation(len(self.records))

    def __len__(self) -> int:
        return len(self.records) * self.config.views_per_canvas

    def __getitem__(self, index: int) -> dict:
        import torch

        if not 0 <= index < len(self):
            raise IndexError(index)
        cfg = self.config
        rec = self.records[self.order[index % len(self.records)]]
        image, mask = read_member(rec.path, rec.image, rec.image_format), read_member(rec.path, rec.mask, "png")
        label = int(rec.meta["label_index"])
        rng = np.random.default_rng([cfg.seed, index])
        c = cfg.crop_size
        h, w = mask.shape
        visible = mask == 255
        if label > 0 and rng.random() < cfg.mask_crop_bias and visible.any():
            ys, xs = np.nonzero(visible)
            k = int(rng.integers(ys.size))
            y, x = int(np.clip(ys[k] - c // 2, 0, h - c)), int(np.clip(xs[k] - c // 2, 0, w - c))
        else:
            y, x = int(rng.integers(h - c + 1)), int(rng.integers(w - c + 1))
        image, mask = image[y:y + c, x:x + c], mask[y:y + c, x:x + c]
        if rng.random() < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        n_visible = int((mask == 255).sum())
        if label > 0 and n_visible < cfg.min_visible_pixels:
            label = -1 if (mask > 0).any() else 0
        masks = np.zeros((len(ARTIFACT_CLASSES), c, c), np.float32)
        if label > 0:
            masks[label - 1] = mask == 255
        # a crop too small a part of its artifact to be named teaches neither side of its few visible pixels
        valid = (mask != 128) if label >= 0 else (mask == 0)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / 255.0),
            "masks": torch.from_numpy(masks),
            "valid": torch.from_numpy(valid.astype(np.float32)),
            "label": torch.tensor(label, dtype=torch.int64),
            "severity": float(rec.meta["severity"]) if label > 0 else 0.0,
        }
