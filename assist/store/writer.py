"""Group commit for one SQLite writer connection.

Writes are small async functions (*ops*) run on the one writer connection.
``submit`` queues an op and waits until the transaction holding it is
committed.  The writer task takes everything queued (up to ``MAX_BATCH``), runs
it in one ``BEGIN IMMEDIATE ... COMMIT`` and then wakes the callers: no added
delay when idle, one commit for many writes under load.  If one op fails the
batch is rolled back and redone one op per transaction, so only that caller
sees the error.

A database that stays locked longer than the connection's busy timeout (another
process holding a write lock) loses nothing: the batch stays in memory and is
tried again with growing pauses (``RETRY_FIRST`` doubling up to ``RETRY_MAX``)
until it commits.  Memory stays bounded: the batch in hand plus the bounded
queue, whose callers see ``QueueFull`` meanwhile.  Only ``close`` gives up, after
``CLOSE_RETRY_SECONDS`` more.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiosqlite

log = logging.getLogger(__name__)

MAX_BATCH: Final[int] = 256  # ops committed together at most
RETRY_FIRST: Final[float] = 0.05  # s: first pause after the database was found locked
RETRY_MAX: Final[float] = 2.0  # s: longest pause between two tries
CLOSE_RETRY_SECONDS: Final[float] = 10.0  # closing: keep trying a locked database this much longer
_BUSY_CODES: Final[frozenset[int]] = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

Op = Callable[[aiosqlite.Connection], Awaitable[Any]]
_Item = tuple[Op, "asyncio.Future[Any]"]


class WriterClosed(Exception):
    """The writer is closed."""


class QueueFull(Exception):
    """``submit_nowait`` found the bounded queue full."""


class _Busy(Exception):
    """The database stayed locked past the busy timeout; the batch was rolled back and is kept."""


def _is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and (code & 0xFF) in _BUSY_CODES


class GroupCommitWriter:
    """Serialises all writes of one connection (autocommit mode, ``isolation_level=None``)."""

    def __init__(self, conn: aiosqlite.Connection, queue_size: int) -> None:
        self._conn = conn
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue(queue_size)
        self._closed = False
        self._give_up_at: float | None = None  # set by close(): a locked database is tried until then
        self.retries = 0  # tries that found the database locked
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
        self._give_up_at = asyncio.get_running_loop().time() + CLOSE_RETRY_SECONDS
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
                await self._commit_until_done(batch)
            except Exception as exc:  # the connection itself failed (disk full, I/O error), or locked at close
                log.exception("store: a batch of %d writes failed", len(batch))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)

    async def _commit_until_done(self, batch: list[_Item]) -> None:
        """Commit ``batch``; while the database is locked, keep it and try again after a pause."""
        loop = asyncio.get_running_loop()
        pause = RETRY_FIRST
        while True:
            try:
                await self._commit_batch(batch)
                return
            except _Busy as busy:
                self.retries += 1
                if self._give_up_at is not None and loop.time() >= self._give_up_at:
                    raise busy.__cause__ or busy from None
                if self.retries == 1 or pause >= RETRY_MAX:
                    log.warning("store: database locked; %d write(s) kept, retrying in %.2f s", len(batch), pause)
                await asyncio.sleep(pause)
                pause = min(RETRY_MAX, pause * 2)

    async def _commit_batch(self, batch: list[_Item]) -> None:
        conn = self._conn
        results: list[Any] = []
        try:
            await conn.execute("BEGIN IMMEDIATE")
        except Exception as exc:
            if _is_busy(exc):
                raise _Busy() from exc
            raise
        try:
            for op, _ in batch:
                results.append(await op(conn))
            await conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            if _is_busy(exc):
                raise _Busy() from exc
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
