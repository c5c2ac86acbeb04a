"""The Python snippets of the README and the user pages run as pasted, from the repository root, as a user would
run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", ["README.md", "docs/reading_scores.md"])
def test_python_snippets_run_as_pasted(page: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, f"{page} has no python block"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for code in blocks:  # a fresh interpreter each: nothing defined by the test or an earlier block
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"{page} snippet failed:\n{code}\n{done.stderr[-2000:]}"
