"""The cluster that test_cluster.py and test_failover.py each start once for their module (about 5 s)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assist.ops.localcluster import LocalCluster
from tests.support.services import running_cluster, skip_without_cluster_services


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    """PostgreSQL, Redis, HAProxy and three ``assist serve --no-model`` nodes on 127.0.0.1, for one module."""
    skip_without_cluster_services()
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with running_cluster(Path(tempfile.mkdtemp(prefix=f"assist-{name}-"))) as c:
        yield c
