"""A real local Ray cluster for the ``--engine ray`` tests: two CPUs on loopback, shut down after the session.

One cluster serves every test (starting one costs tens of seconds); each Ray run in a test still starts its
own actors or tasks, as a user's run does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # Ray would otherwise report usage over the network


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[ModuleType]:
    """The ``ray`` module, connected to a fresh local cluster without GPUs (so a cuda run is refused anywhere)."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'ipad-iqa[ray]')")
    pytest.importorskip("ray.data", reason="the ray extra is not installed (pip install 'ipad-iqa[ray]')")
    try:
        ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, _node_ip_address="127.0.0.1",
                 object_store_memory=200 * 2**20)
        yield ray
    finally:  # also after a failed start, which leaves the processes it did start running
        ray.shutdown()
