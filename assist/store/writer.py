"""Group commit for one SQLite writer connection.

Writes are small async functions (*ops*) run on the one writer connection.
``submit`` queues an op and waits until the transaction holding it is
committed.  The writer task takes everything queued (up to ``MAX_BATCH``), runs
it in one ``BEGIN IMMEDIATE ... COMMIT`` and then wakes the callers: no added
delay when idle, one commit for many writes under load.  If one op fails the
batch is rolled back and redone one op per transaction, so only that caller
sees the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiosqlite

log = logging.getLogger(__name__)

MAX_BATCH: Final[int] = 256  # ops committed together at most

Op = Callable[[aiosqlite.Connection], Awaitable[Any]]
_Item = tuple[Op, "asyncio.Future[Any]"]


class WriterClosed(Exception):
    """The writer is closed."""


class QueueFull(Exception):
    """``submit_nowait`` found the bounded queue full."""


class GroupCommitWriter:
    """Serialises all writes of one connection (autocommit mode, ``isolation_level=None``)."""

    def __init__(self, conn: aiosqlite.Connection, queue_size: int) -> None:
        self._conn = conn
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue(queue_size)
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="store-writer")

    @property
    def maxsize(self) -> int:
        return self._queue.maxsize

    async def submit(self, op: Op) -> Any:
        """Queue ``op`` (waiting for room) and return its result once committed.

        If the caller is cancelled the op still runs; only its result is dropped.
        """
        if self._closed:
            raise WriterClosed("the store is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((op, fut))
        return await fut

    def submit_nowait(self, op: Op) -> asyncio.Future[Any]:
        """Queue ``op`` without waiting; raises ``QueueFull`` if there is no room."""
        if self._closed:
            raise WriterClosed("the store is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((op, fut))
        except asyncio.QueueFull:
            raise QueueFull(f"{self._queue.maxsize} writes are already queued") from None
        return fut

    async def close(self) -> None:
        """Commit everything already queued, then stop (the connection stays open)."""
        if self._closed:
            return
        self._closed = True
        await self._queue.put(None)
        await self._task

    async def _run(self) -> None:
        stop = False
        while not stop:
            item = await self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            try:
                await self._commit_batch(batch)
            except Exception as exc:  # the connection itself failed (disk full, I/O error, locked)
                log.exception("store: a batch of %d writes failed", len(batch))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)

    async def _commit_batch(self, batch: list[_Item]) -> None:
        conn = self._conn
        results: list[Any] = []
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for op, _ in batch:
                results.append(await op(conn))
            await conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            for item in batch:  # redo one by one: only the bad op's caller gets the error
                await self._commit_one(item)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    async def _commit_one(self, item: _Item) -> None:
        op, fut = item
        conn = self._conn
        await conn.execute("BEGIN IMMEDIATE")
        try:
            result = await op(conn)
            await conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            _fail(fut, exc)
            return
        if not fut.done():
            fut.set_result(result)


def _fail(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
