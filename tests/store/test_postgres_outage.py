"""PostgreSQL store: finals commit within 1 s, and a database restart loses nothing (real server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assist.ops.services import Postgres
from assist.protocol.events import Transcript
from assist.store.db import Store
from assist.store.open import open_store
from assist.store.postgres import PostgresStore
from tests.support.services import temporary_postgres


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A PostgreSQL server this test may stop and start (not the session's shared one)."""
    with temporary_postgres() as server:
        yield server


def final(call_id: str, i: int) -> Transcript:
    return Transcript(call_id=call_id, role="caller", utterance_id=f"caller-{i}", final=True,
                      text=f"第{i}句 小区停水了", start=float(i), end=i + 0.8)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_finals_commit_within_one_second(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path}/c.sqlite3" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = await open_store(url)
    try:
        await store.start_call("c1", "a1", time.time())
        waits: list[float] = []
        for i in range(60):  # 20 calls' worth of finals arriving together, three times
            began = time.perf_counter()
            futures = [store.record(final("c1", i * 20 + k)) for k in range(20)]
            await asyncio.gather(*(f for f in futures if f is not None))
            waits.append(time.perf_counter() - began)
            if i % 20 == 19:
                await asyncio.sleep(0.05)
        assert max(waits) < 1.0, f"slowest commit of 20 finals took {max(waits):.3f} s"
        assert len(await store.utterances("c1")) == 1200
    finally:
        await store.close()
    assert isinstance(store, Store if backend == "sqlite" else PostgresStore)


@pytest.mark.slow
async def test_postgres_restart_loses_no_final(own_postgres: Postgres) -> None:
    store = await open_store(own_postgres.url)
    assert isinstance(store, PostgresStore)
    try:
        await store.start_call("c1", "a1", time.time())
        pending: list[asyncio.Future[Any]] = []
        for i in range(10):
            fut = store.record(final("c1", i))
            assert fut is not None
            pending.append(fut)
        await asyncio.gather(*pending)
        await asyncio.to_thread(own_postgres.stop)  # the database goes away ...
        during = [store.record(final("c1", i)) for i in range(10, 40)]  # ... while finals keep coming
        await asyncio.sleep(1.5)
        assert store.unavailable
        assert not any(f is not None and f.done() for f in during)
        await asyncio.to_thread(own_postgres.start)  # ... and comes back on the same port
        await asyncio.wait_for(asyncio.gather(*(f for f in during if f is not None)), 30)
        stored = await store.utterances("c1")
        assert [u["utterance_id"] for u in stored] == [f"caller-{i}" for i in range(40)]
        assert not store.unavailable
    finally:
        await store.close()
