"""How to cite: CITATION.cff and the BibTeX blocks of the README and the model card agree with each other and
with the package version."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import ipad_iqa

ROOT = Path(__file__).resolve().parents[2]
ARXIV = "2605.08664"


def _bibtex(path: Path) -> str:
    blocks = re.findall(r"```bibtex\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, f"{path.name}: expected one bibtex block"
    return blocks[0]


def test_citation_cff_names_paper_and_this_version() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["version"] == ipad_iqa.__version__
    paper = cff["preferred-citation"]
    assert ARXIV in paper["url"] and paper["authors"] and "Teaching CLIP" in paper["title"]


def test_bibtex_same_in_readme_and_model_card() -> None:
    readme, card = _bibtex(ROOT / "README.md"), _bibtex(ROOT / "docs" / "model_card.md")
    assert readme == card
    entries = re.findall(r"^@(\w+)\{(\w+),", readme, re.MULTILINE)
    assert [kind for kind, _ in entries] == ["article", "software"]
    assert readme.count("{") == readme.count("}")
    assert f"eprint        = {{{ARXIV}}}" in readme and f"version = {{{ipad_iqa.__version__}}}" in readme
