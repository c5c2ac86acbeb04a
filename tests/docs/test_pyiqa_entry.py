"""pyiqa's own entry points, as docs/getting_started.md describes them: without ``import ipad_iqa`` pyiqa does
not know ``ipad_clip`` (if a pyiqa release adds a hook, the first test fails and the page must change), and the
page's command for pyiqa's CLI scores a photo."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_pyiqa_alone_does_not_know_ipad_clip() -> None:
    done = _python("import pyiqa; pyiqa.create_metric('ipad_clip')")
    assert done.returncode != 0 and "Metric ipad_clip not implemented yet" in done.stderr


def test_documented_pyiqa_command_scores_a_photo() -> None:
    page = (ROOT / "docs" / "getting_started.md").read_text(encoding="utf-8")
    command = re.search(r"`(python -c \"import ipad_iqa;[^`]*)`", page)
    assert command, "docs/getting_started.md lost the command for pyiqa's CLI"
    argv = shlex.split(command.group(1))
    assert argv[:2] == ["python", "-c"]
    done = _python(argv[2], *argv[3:])
    assert done.returncode == 0, done.stderr[-2000:]
    mean = re.search(r"'mean': (?:np\.float64\()?([0-9.]+)", done.stdout)
    assert mean and 0.0 <= float(mean.group(1)) <= 1.0, done.stdout


def test_variant_table_lists_every_variant() -> None:
    """docs/pyiqa.md's table of variants names each variant of registry.yaml, and nothing else."""
    from ipad_iqa.registry import load_registry

    page = (ROOT / "docs" / "pyiqa.md").read_text()
    table = page[page.index("| name | backbone |"):].split("\n\n")[0]
    assert set(re.findall(r"^\| `([a-z0-9_]+)` \|", table, flags=re.M)) == set(load_registry())
