"""Execute the notebooks in place and store their outputs, so that someone browsing the repository sees them.

Usage: python docs/scripts/run_notebooks.py [NAME.ipynb ...]   (default: every notebook in notebooks/)

Each notebook runs top to bottom on the venv's ``python3`` kernel, offline, with its files in a temporary
folder (``$IPAD_IQA_NOTEBOOK_DIR``), and is written back with its outputs and, in its metadata
(``ipad_iqa``), the sha256 of the ``ipad_clip`` weights and of the inference code that made them. The
notebook test compares both with today's, so outputs made by older weights or code fail it instead of going
stale unnoticed.
A notebook that raises is not written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
METADATA_KEY = "ipad_iqa"


def made_with() -> dict[str, str]:
    """What the outputs depend on: the sha256 of the weights ``pyiqa.create_metric("ipad_clip")`` loads (from
    the registry) and of the code that turns them into predictions."""
    sys.path.insert(0, str(ROOT))
    from ipad_iqa.baselines import ipad_inference_code_sha256
    from ipad_iqa.registry import load_registry

    spec = load_registry()["ipad_clip"].weights
    if spec is None:
        raise SystemExit("ipad_clip has no registered weights; the outputs would come from a random network")
    return {"weights_sha256": spec.sha256, "inference_code": ipad_inference_code_sha256()[:16]}


@contextlib.contextmanager
def scratch_run(tmp: Path) -> Iterator[Path]:
    """The environment every notebook run gets (here and in the notebook test): offline, with the notebook's
    files in ``tmp/work`` (``$IPAD_IQA_NOTEBOOK_DIR``) and IPython and Jupyter state beside it, so a run reads
    no user configuration or kernelspec and leaves nothing behind. Yields the work folder."""
    work = tmp / "work"
    work.mkdir()
    env = {"IPAD_IQA_NOTEBOOK_DIR": str(work), "IPAD_IQA_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "IPYTHONDIR": str(tmp / "ipython"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp / "data")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield work
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def client(nb: nbformat.NotebookNode, work: Path, timeout: int) -> nbclient.NotebookClient:
    """The notebook's executor: the venv's ``python3`` kernel started in ``work``, ``timeout`` s per cell."""
    return nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                   resources={"metadata": {"path": str(work)}})


def execute(path: Path, stamp: dict[str, str]) -> None:
    """Run one notebook in a scratch folder and write it back with its outputs."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="ipad-iqa-nb-") as tmp, scratch_run(Path(tmp)) as work:
        client(nb, work, timeout=600).execute()
    _name_scratch_folder(nb, str(work))
    nb.metadata[METADATA_KEY] = stamp
    nbformat.validate(nb)
    nbformat.write(nb, path)


def _name_scratch_folder(nb: nbformat.NotebookNode, folder: str) -> None:
    """Outputs show the scratch folder as ``$IPAD_IQA_NOTEBOOK_DIR``, not as this run's random temporary path,
    so a rerun changes only what the notebook computes."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = output["text"].replace(folder, "$IPAD_IQA_NOTEBOOK_DIR")
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/") and isinstance(value, str):
                    output["data"][kind] = value.replace(folder, "$IPAD_IQA_NOTEBOOK_DIR")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook file names in notebooks/ (default: all)")
    args = parser.parse_args()
    paths = [NOTEBOOK_DIR / n for n in args.names] or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"no such notebook: {', '.join(missing)}")
    stamp = made_with()
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr)
        execute(path, stamp)
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
