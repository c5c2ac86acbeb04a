"""docs/scaling.md shows measured throughput only through the snippet generated from the committed results."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scaling_table_is_generated_from_the_committed_results(docs_script) -> None:
    """Regenerate with `python docs/scripts/make_scaling_table.py` after rerunning the benchmark."""
    script = docs_script("make_scaling_table")
    assert script.TARGET.read_text(encoding="utf-8") == script.render(json.loads(script.SOURCE.read_text()))
    page = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    assert '--8<-- "assets/scaling_table.md"' in page
