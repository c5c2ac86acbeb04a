"""The published photo pool list and its fetcher: package files reproduce the published bytes offline; GitHub
sources are fetched through a file:// mirror (extension fallback, resize, a missing file, no overwrite)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from ipad_iqa.cli.main import main as cli_main
from ipad_iqa.data import photo_pool
from ipad_iqa.data.photo_pool import PoolFile, fetch_pool, github_reader, prepare, read_pool_list

REPO, REVISION = "someone/photos", "0123456789abcdef0123456789abcdef01234567"


def test_published_list_names_every_file_once_with_a_source_and_checksum() -> None:
    entries = read_pool_list()
    assert len(entries) == 428 and len({e.file for e in entries}) == 428
    for e in entries:
        assert re.fullmatch(r"[0-9a-f]{64}", e.sha256), e
        assert re.fullmatch(r"github:[\w.-]+/[\w.+-]+@[0-9a-f]{40}|pypi:(scikit-image|matplotlib)", e.source), e
        assert e.path and not e.file.startswith("/")


@pytest.mark.parametrize("package", ["scikit-image", "matplotlib"])
def test_package_files_are_the_published_bytes(package: str, tmp_path: Path) -> None:
    """Offline, the files taken from installed packages come out byte-identical to the published pool."""
    pytest.importorskip(photo_pool.PACKAGES[package])
    entries = [e for e in read_pool_list() if e.source == f"pypi:{package}"]
    assert entries
    results = list(fetch_pool(tmp_path, entries, read_github=None))
    assert [r.status for r in results] == ["ok"] * len(entries), results


def _png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[str, list[PoolFile]]:
    """A mirror folder with GitHub's layout and a pool list over it: a large PNG listed as .jpg (found by the
    extension fallback, resized), a small one at its listed path, one listed file that does not exist."""
    root = tmp_path / "mirror" / REPO / REVISION / "sets"
    root.mkdir(parents=True)
    big, small = _png((2000, 1000), (200, 30, 30)), _png((300, 200), (30, 200, 30))
    (root / "big.png").write_bytes(big)
    (root / "small.png").write_bytes(small)
    source = f"github:{REPO}@{REVISION}"

    def sha(data: bytes) -> str:
        return hashlib.sha256(prepare(data)).hexdigest()

    entries = [PoolFile("a/big.jpg", source, "sets/big.jpg", sha(big), "test"),
               PoolFile("a/small.jpg", source, "sets/small.png", "0" * 64, "test"),
               PoolFile("b/gone.jpg", source, "sets/gone.png", "0" * 64, "test")]
    return (tmp_path / "mirror").as_uri(), entries


def test_fetch_through_a_mirror(mirror: tuple[str, list[PoolFile]], tmp_path: Path) -> None:
    base, entries = mirror
    out = tmp_path / "pool"
    results = {r.file: r for r in fetch_pool(out, entries, github_reader(base))}
    assert results["a/big.jpg"].status == "ok"
    with Image.open(out / "a/big.jpg") as image:
        assert image.size == (1024, 512) and image.format == "JPEG"
    assert results["a/small.jpg"].status == "differs" and (out / "a/small.jpg").exists()
    assert results["b/gone.jpg"].status == "failed" and "sets/gone.png" in results["b/gone.jpg"].detail
    assert not (out / "b/gone.jpg").exists()

    # a second run keeps what is there: the published file counts as done, a different one is not overwritten
    again = {r.file: r for r in fetch_pool(out, entries, github_reader(base))}
    assert again["a/big.jpg"].status == "ok" and again["a/big.jpg"].detail == "already there"
    before = (out / "a/small.jpg").read_bytes()
    assert again["a/small.jpg"].status == "differs" and "kept" in again["a/small.jpg"].detail
    assert (out / "a/small.jpg").read_bytes() == before


def test_cli_writes_a_report_line_per_file_and_exit_3_on_failures(
        mirror: tuple[str, list[PoolFile]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    base, entries = mirror
    listing = tmp_path / "pool.tsv"
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "source", "path", "sha256", "licence"])
        writer.writerows((e.file, e.source, e.path, e.sha256, e.licence) for e in entries)
    monkeypatch.setattr(photo_pool, "POOL_LIST", listing)
    out = tmp_path / "pool"
    assert cli_main(["fetch-photos", "--out", str(out), "--mirror", base, "--quiet"]) == 3
    with (out / "fetch_report.tsv").open() as handle:
        report = list(csv.DictReader(handle, delimiter="\t"))
    assert [(r["file"], r["status"]) for r in report] == [("a/big.jpg", "ok"), ("a/small.jpg", "differs"),
                                                          ("b/gone.jpg", "failed")]
    assert "1 ok, 1 differ, 1 failed of 3 files" in capsys.readouterr().out
