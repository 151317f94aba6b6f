"""Real PostgreSQL servers and local clusters in temporary directories, started and always cleaned up.

Used by the session's shared PostgreSQL (tests/conftest.py), the store test that restarts its own server
and the cluster fixtures (tests/cluster/conftest.py); each skips with the reason when a Debian package is
missing (.ci/run installs postgresql, redis-server and haproxy).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from assist.ops.localcluster import LocalCluster
from assist.ops.services import Postgres, missing_binaries, pg_bin


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


S = TypeVar("S", bound=Service)


@contextmanager
def started(service: S, root: Path) -> Iterator[S]:
    """``service`` started, then stopped and its directory ``root`` removed, whatever happens."""
    try:
        service.start()
        yield service
    finally:
        service.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def temporary_postgres() -> Iterator[Postgres]:
    """A PostgreSQL server in a temporary data directory, run as the ``postgres`` user, on a free port."""
    if pg_bin() is None:
        pytest.skip("PostgreSQL missing: apt-get install postgresql")
    pytest.importorskip("asyncpg", reason="asyncpg missing: pip install -e '.[test]'")
    # not under pytest's tmp dir: that is private to root, and PostgreSQL runs as another user
    root = Path(tempfile.mkdtemp(prefix="assist-pg-"))
    with started(Postgres(root), root) as server:
        yield server


def skip_without_cluster_services() -> None:
    """Skip the test when PostgreSQL, Redis, HAProxy or their Python clients are missing."""
    missing = missing_binaries()
    if missing:
        pytest.skip(f"cluster tests need the Debian packages: apt-get install {' '.join(missing)}")
    pytest.importorskip("asyncpg")
    pytest.importorskip("redis")


@contextmanager
def running_cluster(
    root: Path, drain_seconds: float = 30.0, extra_args: tuple[str, ...] = ()
) -> Iterator[LocalCluster]:
    """Three ``assist serve --no-model`` nodes behind HAProxy with PostgreSQL and Redis, under ``root``
    (removed afterwards)."""
    with started(LocalCluster(root, nodes=3, drain_seconds=drain_seconds, extra_args=extra_args), root) as c:
        yield c
