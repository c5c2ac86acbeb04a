"""Pack what `gpu/train.sh` needs on a lent GPU machine into `.gpu/`, within what the device tool carries.

A device run receives the repository's tracked files plus the paths named in ``carry``, at most 64 MiB in all,
and nothing can be fetched there. The recipe's shards are 1.9 GB, far too much to carry, so the GPU machine
(16 cores) writes them itself from the photos; this script packs those photos and the Python packages its image
lacks, and checks the total before a minute of device time is spent.

* **Photos**: the train and val scene splits (the test split is never trained on), under their relative names (which
  set their split). A canvas is a crop of the photo resized to a short side of at most ``CANVAS_SIZE *
  scale_jitter[1]`` (519 px), so a larger photo is stored at that short side, as synthesis reads it (EXIF
  orientation applied; Lanczos; JPEG q90 as the pool was converted, or its own lossless format). Canvases drawn from
  it are not the same bytes as canvases drawn from the original (a second resampling and JPEG generation): the
  script prints how far apart, as the PSNR of each shrunk photo against its original with both resized to the canvas
  scale. Photos that small already keep their pixels: copied, or losslessly re-encoded by jpegtran.
* **Packages** the machine's image lacks (its package list is in the lending tool's notes): ``open_clip_torch``,
  ``ftfy``, ``wcwidth``, ``cvvdp`` and what it imports (``ffmpeg-python``, ``future``), as wheels of the versions
  installed here for the machine's Python 3.12; and pyiqa's code without the 6 MB of demo images its wheel
  ships, which ``import ipad_iqa`` needs to register the metrics.

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

import numpy as np
from PIL import Image

from ipad_iqa.data.pipeline import DEFAULT_FINISH, _resize, load_photo
from ipad_iqa.data.shards import CANVAS_SIZE
from ipad_iqa.data.sources import list_clean_pool, source_name
from ipad_iqa.io import open_image

TRAVEL_LIMIT = 64 * 2**20  # bytes: the device tool's limit on the working tree that travels, carried paths included
SPLITS = ("train", "val")  # the splits the recipe's shards are written from
MAX_SHORT = math.ceil(CANVAS_SIZE * DEFAULT_FINISH.scale_jitter[1])  # largest short side a canvas resizes to
POOL_QUALITY = 90  # JPEG quality the clean pool was converted at (its MANIFEST.tsv)
MARKER = "PACK"  # the file that marks a folder as a pack, which the next pack may delete
WHEELS = ("open_clip_torch", "ftfy", "wcwidth", "cvvdp", "ffmpeg-python", "future")
PIP_TARGET = ["--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
              "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64"]


def pack_photos(clean_dir: Path, out: Path) -> tuple[int, list[float]]:
    """Copy the train and val photos of ``clean_dir`` into ``out`` under the same relative names (their split
    is a hash of that name), shrinking those larger than a canvas ever needs. Returns the number copied and,
    per shrunk photo, the PSNR (dB) against the original, both resized to the smallest canvas scale."""
    copied, psnr = 0, []
    for split in SPLITS:
        for path in list_clean_pool(clean_dir, split):
            dest = out / source_name(path, clean_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open_image(path) as header:  # the short side, from the header: a turn by EXIF keeps it
                small_enough = min(header.size) <= MAX_SHORT
            if small_enough:
                _copy(path, dest)  # the shard writer decodes (and records any unreadable photo) there
                copied += 1
                continue
            image = load_photo(path)  # as synthesis reads it: EXIF orientation applied, transparency composited
            h, w = image.shape[:2]
            scale = MAX_SHORT / min(h, w)
            small = _resize(image, (max(MAX_SHORT, round(h * scale)), max(MAX_SHORT, round(w * scale))))
            pixels = Image.fromarray(np.rint(small * 255).astype(np.uint8))
            if dest.suffix.lower() in (".jpg", ".jpeg"):  # same name, same format: the name sets the split
                pixels.save(dest, "JPEG", quality=POOL_QUALITY)
            else:
                pixels.save(dest)  # a lossless source stays lossless
            # both brought to one canvas scale (short side CANVAS_SIZE) on the same pixel grid: what the pack
            # itself changes (a second resampling, a JPEG generation), not where a random crop happens to fall
            packed = load_photo(dest)
            grid = tuple(round(n * CANVAS_SIZE / min(packed.shape[:2])) for n in packed.shape[:2])
            a, b = _resize(image, grid), _resize(packed, grid)
            psnr.append(float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12))))
    if not copied + len(psnr):
        raise ValueError(f"no {' or '.join(SPLITS)}-split photos in {clean_dir}")
    return copied, psnr


def _copy(src: Path, dest: Path) -> None:
    """Byte copy, or a lossless smaller one where jpegtran is installed (Huffman tables optimized, progressive:
    the decoded pixels are the same, the file smaller)."""
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
    # the trailing "/" asks about a folder, so a pattern such as "/.gpu/" matches before the folder exists
    if subprocess.run(["git", "check-ignore", "-q", f"{out}/"], cwd=repo).returncode != 0:
        parser.error(f"--out {args.out}: not ignored by git, so it would travel twice (add it to .gitignore)")
    if out.exists():  # a pack is rebuilt whole, so nothing stale travels; but only a pack is ever deleted
        if not (out / MARKER).is_file() and any(out.iterdir()):
            parser.error(f"--out {args.out}: holds files this script did not write; choose another folder")
        shutil.rmtree(out)
    out.mkdir()
    (out / MARKER).write_text("written by gpu/pack.py, which deletes this folder when it packs again\n")
    copied, psnr = pack_photos(args.clean_dir, out / "photos")
    print(f"photos: {copied} copied, {len(psnr)} shrunk to a short side of {MAX_SHORT} px"
          + (f"; at canvas scale against the originals: PSNR median {np.median(psnr):.1f} dB, lowest "
             f"{min(psnr):.1f} dB" if psnr else ""))
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
