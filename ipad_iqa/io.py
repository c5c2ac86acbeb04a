"""Image input: file loading, tensor validation and expansion of command-line inputs.

Everything that enters the model passes through here, so a bad file or tensor fails with a message naming
the file (or tensor) and the problem, instead of a shape error deep inside CLIP.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

#: Smallest height and width the model accepts (one CLIP patch grid needs at least this much).
MIN_SIDE: int = 32
#: Default pixel bound for :func:`load_image`. PIL refuses images above 2 x 89.5 MP as decompression bombs;
#: real camera and panorama files exceed that, so we raise the bound deliberately to 250 MP (about 3 GB as a
#: float32 tensor). Pass ``max_pixels`` to change it per call.
MAX_PIXELS: int = 250_000_000
#: Tolerance of the [0, 1] range check in :func:`validate_batch` (pyiqa uses the same epsilon).
RANGE_TOLERANCE: float = 1e-6
#: File extensions picked up when a folder is expanded (lower case).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pbm",
     ".pnm", ".tga"}
)
#: Full-scale value of PIL's 16-bit integer modes (16-bit PNG/TIFF open as ``I;16*`` or ``I``).
_UINT16_MAX: float = 65535.0
_GLOB_CHARS: frozenset[str] = frozenset("*?[")
#: Pixels per band when 8-bit images are converted to float (a few MB of temporaries whatever the size).
_BAND_PIXELS: int = 1 << 20


class ImageLoadError(ValueError):
    """A file could not be turned into an RGB tensor; the message is ``"<path>: <reason>"``.

    ``path`` and ``reason`` are kept apart as well, for reports that already show the path in a column.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[Path, str]]:  # picklable across DataLoader workers
        return type(self), (self.path, self.reason)


class InvalidInputError(ValueError):
    """A tensor does not satisfy the model's input contract; the message names the problem."""


@contextlib.contextmanager
def _pixel_limit(max_pixels: int) -> Iterator[None]:
    """Replace PIL's global decompression-bomb limit by our own bound for the duration of one load.

    Our size check (:func:`_check_size`, right after the header is read) gives the clear error at
    ``max_pixels``; PIL's check, which raises at twice its ``MAX_IMAGE_PIXELS``, stays as a backstop for
    frame sizes it finds later. The global is restored afterwards, so other PIL use is unaffected.
    """
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            # Between our bound and the backstop PIL only warns; _check_size raises there instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def shown_path(path: Path | str) -> str:
    """A path as text that every output format can hold: bytes of a file name that are not UTF-8 (Python keeps
    them as surrogates) are written ``\\xNN`` instead of failing the csv or parquet writer."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def missing_reason(path: Path) -> str:
    """Why a named input is not there, in the words of the ``error`` column: a file or folder path, or a
    pattern (``expand_inputs`` keeps a pattern that matches nothing as it was given)."""
    return "no file matches this pattern" if _GLOB_CHARS.intersection(str(path)) else "no such file or folder"


def _check_file(path: Path) -> None:
    if path.is_symlink() and not path.exists():
        raise ImageLoadError(path, f"broken symbolic link (to {shown_path(os.readlink(path))}, which does not exist)")
    if not path.exists():
        raise ImageLoadError(path, missing_reason(path))
    if path.is_dir():
        if top := len(_expand_folder(path, recursive=False)):  # load_image given a folder: it reads one file
            raise ImageLoadError(path, f"is a directory ({top} image file{'s' * (top > 1)} in it), not an image file")
        nested = len(_expand_folder(path, recursive=True))
        hint = f" ({nested} in its sub-folders: `ipad-iqa score --recursive` reads them)" if nested else ""
        raise ImageLoadError(path, f"is a directory with no image files in it{hint}")
    if path.stat().st_size == 0:
        raise ImageLoadError(path, "empty file")


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    if min(width, height) < MIN_SIDE:
        raise ImageLoadError(path, f"image is {width}x{height}; the minimum is {MIN_SIDE}x{MIN_SIDE}")
    if width * height > max_pixels:
        raise ImageLoadError(
            path,
            f"image is {width}x{height} = {width * height / 1e6:.0f} MP, above the limit of "
            f"{max_pixels / 1e6:.0f} MP (pass max_pixels to load_image to raise it)"
        )


@contextlib.contextmanager
def open_image(path: Path, max_pixels: int = MAX_PIXELS) -> Iterator[Image.Image]:
    """Open ``path`` with PIL behind every check of this module (file, size, pixel limit); every decoding
    failure, also inside the ``with`` body, becomes ImageLoadError. What every image read goes through."""
    _check_file(path)
    with _pixel_limit(max_pixels):
        try:
            with Image.open(path) as img:
                _check_size(path, img.width, img.height, max_pixels)
                yield img
        except UnidentifiedImageError as err:
            raise ImageLoadError(path, "not an image (cannot identify format)") from err
        except ImageLoadError:
            raise
        except Image.DecompressionBombError as err:
            raise ImageLoadError(path, str(err)) from err
        except (OSError, SyntaxError, EOFError, ValueError) as err:
            raise ImageLoadError(path, f"truncated or corrupt image data ({err})") from err


def _channels_first(array: np.ndarray, scale: float) -> torch.Tensor:
    """(H, W) or (H, W, 3) writable array -> contiguous float32 (3, H, W) tensor divided by ``scale``.

    Used for 16-bit and float images: the layout change and the widening to float32 happen in one copy.
    """
    source = torch.from_numpy(array)
    source = source.unsqueeze(0).expand(3, -1, -1) if source.dim() == 2 else source.permute(2, 0, 1)
    return torch.empty(source.shape, dtype=torch.float32).copy_(source).div_(scale)


def _to_tensor(img: Image.Image, path: Path) -> torch.Tensor:
    """Convert any PIL mode to a (3, H, W) float32 tensor in [0, 1].

    Transparent images (RGBA, LA, PA, P or L/RGB with a ``transparency`` entry) are composited on white:
    IQA datasets and web pages show transparency on white, and a black background would read as a dark
    artifact. 16-bit modes (``I;16*``, and ``I`` as PIL opens 16-bit PNGs) are scaled by 65535 rather than
    squeezed through 8 bits. Float images (``F``) must already lie in [0, 1].
    """
    if img.mode.startswith("I;16") or img.mode == "I":
        gray = np.asarray(img).astype(np.float32)
        if gray.min() < 0 or gray.max() > _UINT16_MAX:
            raise ImageLoadError(path, "32-bit integer image with values outside the 16-bit range")
        return _channels_first(gray, _UINT16_MAX)
    if img.mode == "F":
        gray = np.array(img, dtype=np.float32)
        if not np.isfinite(gray).all() or gray.min() < 0 or gray.max() > 1:
            raise ImageLoadError(path, "floating-point image with values outside [0, 1]")
        return _channels_first(gray, 1.0)
    transparent = "A" in img.mode or "a" in img.mode or "transparency" in img.info
    # Converted band by band into the result: the only full-size copies alive are the decoded image and the
    # tensor (an 80 MP photo peaks at about 1.2 GB, not 1.45 GB, and RGBA or CMYK files no higher).
    out = torch.empty(3, img.height, img.width)
    rows = max(1, _BAND_PIXELS // img.width)
    for top in range(0, img.height, rows):
        band = img.crop((0, top, img.width, min(top + rows, img.height)))
        if transparent:
            band = Image.alpha_composite(Image.new("RGBA", band.size, (255, 255, 255, 255)), band.convert("RGBA"))
        if band.mode != "RGB":
            band = band.convert("RGB")
        out[:, top: top + band.height] = torch.from_numpy(np.array(band)).permute(2, 0, 1)
    return out.div_(255.0)


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Load an image file as a (3, H, W) float32 RGB tensor in [0, 1], EXIF orientation applied.

    Raises :class:`ImageLoadError` (a ``ValueError``) naming the file and the problem for missing, empty,
    truncated, non-image, too small (< ``MIN_SIDE``) or too large (> ``max_pixels``) files.
    """
    path = Path(path)
    with open_image(path, max_pixels) as img:
        img.load()
        ImageOps.exif_transpose(img, in_place=True)
        return _to_tensor(img, path)


def read_size(path: str | Path, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(H, W) that :func:`load_image` will return, read from the header only (cheap; used to batch by size)."""
    path = Path(path)
    with open_image(path, max_pixels) as img:
        height, width = img.height, img.width
        # EXIF orientations 5-8 rotate by 90 degrees and so swap the sides.
        if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            height, width = width, height
    return height, width


def validate_batch(x: object) -> torch.Tensor:
    """Check a user tensor against the model contract and return it as (B, 3, H, W) in [0, 1].

    Accepted leniencies, each of which has one obvious meaning: a single (3, H, W) image gets a batch
    dimension; one channel is repeated to RGB (grayscale); values within ``RANGE_TOLERANCE`` outside [0, 1]
    are clamped. Everything else raises :class:`InvalidInputError`. The device and floating dtype are kept;
    the model moves the tensor where it needs it.
    """
    if not isinstance(x, torch.Tensor):
        raise InvalidInputError(f"expected a torch.Tensor of shape (B, 3, H, W), got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise InvalidInputError(
            f"expected a floating-point tensor in [0, 1], got dtype {x.dtype}; "
            "for 8-bit images use x.float() / 255"
        )
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise InvalidInputError(f"expected shape (B, 3, H, W) or (3, H, W), got {tuple(x.shape)}")
    batch, channels, height, width = x.shape
    if batch == 0:
        raise InvalidInputError("empty batch (B = 0)")
    if channels == 1:
        x = x.expand(-1, 3, -1, -1)
    elif channels != 3:
        raise InvalidInputError(
            f"expected 3 (RGB) or 1 (grayscale) channels, got {channels} in shape {tuple(x.shape)}; "
            "drop or composite an alpha channel first"
        )
    if min(height, width) < MIN_SIDE:
        raise InvalidInputError(f"image is {width}x{height} (WxH); the minimum is {MIN_SIDE}x{MIN_SIDE}")
    if x.device.type == "meta":
        raise InvalidInputError("tensor is on the 'meta' device and holds no data; create it on 'cpu' or 'cuda'")
    # One pass, no full-size temporaries: NaN propagates into min and max, and so does +-Inf.
    low, high = (float(v) for v in x.detach().aminmax())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidInputError(f"tensor contains {int((~torch.isfinite(x)).sum())} NaN or Inf values")
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise InvalidInputError(f"values must lie in [0, 1], got min={low:.6g}, max={high:.6g}")
    return x.clamp(0.0, 1.0) if low < 0.0 or high > 1.0 else x  # copies only when there is something to clamp


def _expand_folder(folder: Path, recursive: bool, exclude: Callable[[Path], bool] | None = None,
                   skipped: list[Path] | None = None) -> list[Path]:
    """A folder's image files by extension, sorted by relative path. A broken link with an image extension is
    kept (the caller reports it); links to folders are not followed (``Path.rglob``). Files without an image
    extension go to ``skipped``; files for which ``exclude`` is true are left out."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = []
    for p in candidates:
        if not (p.is_file() or (p.is_symlink() and not p.exists())) or (exclude is not None and exclude(p)):
            continue
        if p.suffix.lower() in IMAGE_EXTENSIONS:
            files.append(p)
        elif skipped is not None:
            skipped.append(p)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _through_folder_link(match: Path, pattern: str) -> bool:
    """Whether a glob match was reached through a link to a folder below the pattern's literal start (where a
    ``**`` would follow a link loop without end); folder inputs never follow such links either."""
    literal = len(list(itertools.takewhile(lambda part: not _GLOB_CHARS.intersection(part), Path(pattern).parts)))
    return any(parent.is_symlink() for parent in match.parents if len(parent.parts) > literal)


def expand_inputs(items: Sequence[str | Path], recursive: bool = False,
                  exclude: Callable[[Path], bool] | None = None, skipped: list[Path] | None = None) -> list[Path]:
    """Turn files, folders and glob patterns into a deterministic list of files, in the order given.

    Folders contribute their image files (by extension, ``IMAGE_EXTENSIONS``, sorted by relative path;
    sub-folders only with ``recursive``, links to folders not followed); their other files are appended to
    ``skipped`` when it is given. Files that folders and patterns bring in are left out where ``exclude`` says
    so (a run's own earlier outputs). Explicitly named files are kept whatever their extension. A missing path,
    a pattern matching nothing and a folder without images are kept as they are, so that the caller reports
    them as errors instead of silently dropping them. Duplicates are kept: one result per input.
    """

    def folder(path: Path) -> list[Path]:
        return _expand_folder(path, recursive, exclude, skipped)

    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(folder(path) or [path])
        elif path.exists() or path.is_symlink() or not _GLOB_CHARS.intersection(str(item)):
            paths.append(path)
        else:
            matches = [m for m in map(Path, sorted(glob.glob(str(item), recursive=recursive)))
                       if not _through_folder_link(m, str(item))]
            expanded: list[Path] = []
            for match in matches:
                if match.is_dir():
                    expanded.extend(folder(match))
                elif exclude is None or not exclude(match):
                    expanded.append(match)
            paths.extend(expanded or [path])
    return paths
