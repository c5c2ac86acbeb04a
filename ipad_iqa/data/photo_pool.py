"""The clean photo pool behind the published numbers, assembled from its public sources and checked.

The pool is not redistributed (most sources state no licence); ``assets/photo_pool.tsv`` says where each of
its files comes from (a GitHub repository at a pinned commit, or a file of an installed package) and the
sha256 of the file as used: the source image in RGB, resized to a long side of at most 1024 pixels and saved
as JPEG quality 90 by Pillow. :func:`fetch_pool` repeats that for every file, so the split of each photo,
which hashes its path below the pool folder, and hence every benchmark written from it, is the published one.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from ipad_iqa.weights import sha256_file

POOL_LIST = Path(__file__).resolve().parents[1] / "assets" / "photo_pool.tsv"
GITHUB_RAW = "https://raw.githubusercontent.com"
LONG_SIDE = 1024
JPEG_QUALITY = 90
#: Extensions tried in turn when a source file is not at its listed path (some sources' extensions are
#: inferred: the listing records the name, not always the original format).
FALLBACK_SUFFIXES = (".png", ".jpg", ".bmp", ".tif")
#: Installed package -> how to import it, for sources ``pypi:NAME``.
PACKAGES = {"scikit-image": "skimage", "matplotlib": "matplotlib"}


@dataclass(frozen=True)
class PoolFile:
    """One file of the pool: where it goes (``file``, relative to the pool folder) and where it comes from."""

    file: str
    source: str  # "github:OWNER/REPO@REVISION" or "pypi:PACKAGE"
    path: str  # the file's path in that repository or package
    sha256: str  # of the file as used for the published numbers
    licence: str


@dataclass
class FetchResult:
    """What happened to one file: ``ok`` (written or already there, checksum equal), ``differs`` (written, the
    content differs from the published file), or ``failed`` (not written; ``detail`` says why)."""

    file: str
    status: str
    detail: str = ""


def read_pool_list(path: Path | None = None) -> list[PoolFile]:
    """The rows of a pool list (tab-separated, ``#`` comment lines first); by default the published one."""
    with (path or POOL_LIST).open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return [PoolFile(**row) for row in rows]


def prepare(data: bytes) -> bytes:
    """A source image as the pool holds it: RGB, long side at most ``LONG_SIDE``, JPEG ``JPEG_QUALITY``."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    if max(rgb.size) > LONG_SIDE:
        scale = LONG_SIDE / max(rgb.size)
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
                         Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _candidates(path: str) -> Iterator[str]:
    """The listed path, then the same name with each other extension of ``FALLBACK_SUFFIXES``."""
    yield path
    listed = PurePosixPath(path)
    yield from (str(listed.with_suffix(s)) for s in FALLBACK_SUFFIXES if s != listed.suffix)


def github_reader(base: str = GITHUB_RAW, timeout: float = 60.0) -> Callable[[str, str], bytes]:
    """Reads ``path`` of ``OWNER/REPO@REVISION`` from ``base`` (GitHub's raw files, or a mirror with the same
    layout, e.g. a ``file://`` folder), trying the fallback extensions when a path is not found."""

    def read(repo_at_revision: str, path: str) -> bytes:
        repo, revision = repo_at_revision.split("@", 1)
        tried = []
        for candidate in _candidates(path):
            url = f"{base.rstrip('/')}/{repo}/{revision}/{urllib.parse.quote(candidate)}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as err:
                if err.code != 404:
                    raise
            except urllib.error.URLError as err:
                if not isinstance(err.reason, FileNotFoundError):  # how a file:// mirror reports a missing file
                    raise
            tried.append(candidate)
        raise FileNotFoundError(f"not found in {repo}@{revision[:12]}: {', '.join(tried)}")

    return read


def package_reader(package: str, path: str) -> bytes:
    """A data file of an installed package (``pypi:scikit-image`` ``data/coffee.png``)."""
    module = PACKAGES.get(package)
    spec = importlib.util.find_spec(module) if module else None
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"{path}: the package {package} is not installed (pip install {package})")
    return (Path(spec.origin).parent / path).read_bytes()


def fetch_file(entry: PoolFile, out: Path, read_github: Callable[[str, str], bytes]) -> FetchResult:
    """Fetch, prepare and write one file. An existing file is kept: equal to the published one it counts as
    done, otherwise it is reported as differing and left alone (nothing is overwritten)."""
    target = out / entry.file
    if target.exists():
        if sha256_file(target) == entry.sha256:
            return FetchResult(entry.file, "ok", "already there")
        return FetchResult(entry.file, "differs", "already there, not the published bytes; kept (nothing is "
                                                  "overwritten)")
    kind, _, where = entry.source.partition(":")
    try:
        raw = read_github(where, entry.path) if kind == "github" else package_reader(where, entry.path)
        data = prepare(raw)
    except (OSError, urllib.error.URLError, ValueError) as err:  # unreachable, missing, not an image
        return FetchResult(entry.file, "failed", f"{type(err).__name__}: {err}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    if hashlib.sha256(data).hexdigest() == entry.sha256:
        return FetchResult(entry.file, "ok")
    return FetchResult(entry.file, "differs",
                       "written; not the published bytes (the source or the encoder changed), so benchmark "
                       "images made from it differ slightly")


def fetch_pool(out: Path, entries: list[PoolFile] | None = None,
               read_github: Callable[[str, str], bytes] | None = None) -> Iterator[FetchResult]:
    """Fetch every file of the pool into ``out``, one result per file, going on past failures."""
    read_github = read_github or github_reader()
    for entry in read_pool_list() if entries is None else entries:
        yield fetch_file(entry, out, read_github)
