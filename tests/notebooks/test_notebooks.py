"""The notebooks in notebooks/: committed with the outputs of the shipped weights, and each one runs top to bottom
without an error.

Each notebook is executed as ``docs/scripts/run_notebooks.py`` executes it (its ``scratch_run`` and ``client``):
nbclient on the venv's own ipykernel ("python3"), offline, writing only into ``tmp_path``. No cell may run
longer than ``BUDGET_S`` seconds, and the kernel may use at most ``BUDGET_S`` CPU seconds in all: CPU time,
unlike wall time, does not grow when other jobs share the machine, so the second check is not flaky, and it
bounds the wall time on an idle machine.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {"quickstart.ipynb", "local_vs_global_iqa.ipynb", "benchmark_tour.ipynb"}
BUDGET_S = 300  # per cell (wall clock) and per notebook (kernel CPU time)


def test_the_documented_notebooks_exist():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_with_outputs_of_the_shipped_weights(path, docs_script):
    """Outputs are stored for readers of the repository, made by `python docs/scripts/run_notebooks.py`: every
    code cell ran, in order, without an error, with the weights ``ipad_clip`` loads today and today's
    inference code."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
        f"{path.name}: not run top to bottom in one go; run python docs/scripts/run_notebooks.py {path.name}")
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert "/tmp/ipad-iqa-nb-" not in path.read_text(encoding="utf-8"), (
        f"{path.name}: outputs name a run's scratch folder; run python docs/scripts/run_notebooks.py {path.name}")
    assert nb.metadata.get("ipad_iqa") == docs_script("run_notebooks").made_with(), (
        f"{path.name}: its outputs come from other weights or inference code; "
        f"run python docs/scripts/run_notebooks.py {path.name}")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, docs_script):
    runner = docs_script("run_notebooks")
    nb = nbformat.read(path, as_version=4)
    with runner.scratch_run(tmp_path) as work:
        before, started = _children_cpu_s(), time.perf_counter()
        runner.client(nb, work, timeout=BUDGET_S).execute()  # raises CellExecutionError on any error
    # execute() shuts the kernel down and reaps it, so its CPU time is now in RUSAGE_CHILDREN.
    cpu_s, wall_s = _children_cpu_s() - before, time.perf_counter() - started
    print(f"{path.name}: kernel CPU {cpu_s:.0f} s, wall {wall_s:.0f} s")

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert cpu_s < BUDGET_S, f"{path.name} used {cpu_s:.0f} CPU seconds, over the {BUDGET_S} s budget"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
