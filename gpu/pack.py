"""Pack what `gpu/train.sh` needs on a lent GPU machine into `.gpu/`, within what the device tool carries.

A device run receives the repository's tracked files plus the paths named in ``carry``, at most 64 MiB in all,
and nothing can be fetched there. The recipe's shards are 1.1 GB, far too much to carry, so the GPU machine
(16 cores) writes them itself from the photos; this script packs those photos and the Python packages its image
lacks, and checks the total before a minute of device time is spent.

* **Photos**: the train and val scene splits (the test split is never trained on). A canvas is a crop of the
  photo resized to a short side of at most ``CANVAS_SIZE * scale_jitter[1]`` (519 px), so a photo is stored
  shrunk to that short side (Lanczos, JPEG q90: how the pool itself was converted); a canvas drawn from it
  differs from one drawn from the original only by a second resampling, far below the finishing noise and
  JPEG round trip every sample then gets. Photos that are already that small are copied byte for byte.
* **Packages** missing from the machine's image (docs of the device tool: KINDS.md): ``open_clip_torch``,
  ``ftfy``, ``wcwidth``, ``cvvdp`` and the two it imports (``ffmpeg-python``, ``future``) as wheels of the versions
  installed here, and pyiqa's code alone (its wheel
  also ships 6 MB of demo images), which ``import ipad_iqa`` needs to register the metrics.

Usage (repository root)::

    python gpu/pack.py --clean-dir ../shared/data/clean
    # then the device tool: run(command="bash gpu/train.sh", carry=[".gpu"], timeout_s=600)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image, ImageOps

from ipad_iqa.data.pipeline import DEFAULT_FINISH
from ipad_iqa.data.shards import CANVAS_SIZE
from ipad_iqa.data.sources import list_clean_pool, source_name

TRAVEL_LIMIT = 64 * 2**20  # bytes: the device tool's limit on the working tree that travels, carried paths included
SPLITS = ("train", "val")  # the splits the recipe's shards are written from
MAX_SHORT = math.ceil(CANVAS_SIZE * DEFAULT_FINISH.scale_jitter[1])  # largest short side a canvas resizes to
POOL_QUALITY = 90  # JPEG quality the clean pool was converted at (its MANIFEST.tsv)
WHEELS = ("open_clip_torch", "ftfy", "wcwidth", "cvvdp", "ffmpeg-python", "future")
PIP_TARGET = ["--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
              "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64"]


def pack_photos(clean_dir: Path, out: Path) -> tuple[int, int]:
    """Copy the train and val photos of ``clean_dir`` into ``out`` under the same relative names (their split
    is a hash of that name), shrinking those larger than a canvas ever needs. Returns (copied, shrunk)."""
    copied = shrunk = 0
    for split in SPLITS:
        for path in list_clean_pool(clean_dir, split):
            dest = out / source_name(path, clean_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as im:
                im = ImageOps.exif_transpose(im)  # the loader applies EXIF orientation; the copy needs none
                short = min(im.size)
                if short <= MAX_SHORT:
                    _copy(path, dest)
                    copied += 1
                    continue
                scale = MAX_SHORT / short
                size = (max(MAX_SHORT, round(im.width * scale)), max(MAX_SHORT, round(im.height * scale)))
                im.convert("RGB").resize(size, Image.LANCZOS).save(dest, "JPEG",
                                                          quality=POOL_QUALITY)  # same name: it sets the split
                shrunk += 1
    if not copied + shrunk:
        raise ValueError(f"no {' or '.join(SPLITS)}-split photos in {clean_dir}")
    return copied, shrunk


def _copy(src: Path, dest: Path) -> None:
    """Byte copy, or a lossless smaller one where jpegtran is installed (Huffman tables optimized, progressive:
    the decoded pixels are the same, about 9 % fewer bytes on this pool)."""
    if src.suffix.lower() in (".jpg", ".jpeg") and shutil.which("jpegtran"):
        subprocess.run(["jpegtran", "-copy", "all", "-optimize", "-progressive", "-outfile", str(dest), str(src)],
                       check=True)
    else:
        shutil.copyfile(src, dest)


def pack_packages(out: Path) -> list[str]:
    """Wheels of the installed versions of ``WHEELS`` for the machine's Python, and ``pyiqa.zip`` (its code)."""
    out.mkdir(parents=True, exist_ok=True)
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in WHEELS]
    with tempfile.TemporaryDirectory() as tmp:
        pyiqa = f"pyiqa=={importlib.metadata.version('pyiqa')}"
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        *PIP_TARGET, "-d", str(out), *pins], check=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", tmp, pyiqa], check=True)
        (wheel,) = Path(tmp).glob("pyiqa-*.whl")
        with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out / "pyiqa.zip", "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                if info.filename.startswith("pyiqa/"):
                    dst.writestr(info, src.read(info))
    return [*pins, pyiqa]


def travel_bytes(repo: Path, carried: Path) -> dict[str, int]:
    """Bytes that a device run sends: tracked files, untracked files git does not ignore, and ``carried``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                            check=True, capture_output=True).stdout.decode().split("\0")
    tree = sum((repo / p).stat().st_size for p in listed if p and (repo / p).is_file())
    carry = sum(p.stat().st_size for p in carried.rglob("*") if p.is_file())
    return {"working tree": tree, "pack": carry, "total": tree + carry}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean-dir", required=True, type=Path, help="the clean photo pool, e.g. ../shared/data/clean")
    parser.add_argument("--out", type=Path, default=Path(".gpu"), help="pack folder (ignored by git; carry it)")
    parser.add_argument("--no-packages", action="store_true", help="photos only (no download)")
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parent.parent
    out = (args.out if args.out.is_absolute() else repo / args.out).resolve()
    if not out.is_relative_to(repo) or out == repo:
        parser.error(f"--out {args.out}: the pack must be a folder inside the repository, which `carry` names")
    if subprocess.run(["git", "check-ignore", "-q", str(out)], cwd=repo).returncode != 0:
        parser.error(f"--out {args.out}: not ignored by git, so it would travel twice (add it to .gitignore)")
    if out.exists():
        shutil.rmtree(out)  # a pack is rebuilt whole, so nothing stale travels
    copied, shrunk = pack_photos(args.clean_dir, out / "photos")
    print(f"photos: {copied} copied, {shrunk} shrunk to a short side of {MAX_SHORT} px")
    if not args.no_packages:
        print("packages:", ", ".join(pack_packages(out / "packages")))
    sizes = travel_bytes(repo, out)
    for name, n in sizes.items():
        print(f"{name}: {n / 2**20:.1f} MiB")
    if sizes["total"] > TRAVEL_LIMIT:
        print(f"error: {sizes['total'] / 2**20:.1f} MiB would travel, over the device tool's "
              f"{TRAVEL_LIMIT / 2**20:.0f} MiB", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
