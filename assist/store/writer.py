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
from typing import Final

import aiosqlite

from assist.store.batch import BatchWriter, Item, QueueFull, WriterClosed, fail, fail_all, settle
from assist.store.batch import Op as BatchOp

log = logging.getLogger(__name__)

RETRY_FIRST: Final[float] = 0.05  # s: first pause after the database was found locked
RETRY_MAX: Final[float] = 2.0  # s: longest pause between two tries
CLOSE_RETRY_SECONDS: Final[float] = 10.0  # closing: keep trying a locked database this much longer
_BUSY_CODES: Final[frozenset[int]] = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

Op = BatchOp[aiosqlite.Connection]
_Item = Item[aiosqlite.Connection]

__all__ = ["GroupCommitWriter", "Op", "QueueFull", "WriterClosed"]


class _Busy(Exception):
    """The database stayed locked past the busy timeout; the batch was rolled back and is kept."""


def _is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and (code & 0xFF) in _BUSY_CODES


class GroupCommitWriter(BatchWriter[aiosqlite.Connection]):
    """Serialises all writes of one connection (autocommit mode, ``isolation_level=None``)."""

    def __init__(self, conn: aiosqlite.Connection, queue_size: int) -> None:
        self._conn = conn
        self._give_up_at: float | None = None  # set by close(): a locked database is tried until then
        super().__init__(queue_size, "store-writer")

    async def close(self) -> None:
        """Commit everything already queued, then stop (the connection stays open)."""
        if self._closed:
            return
        self._give_up_at = asyncio.get_running_loop().time() + CLOSE_RETRY_SECONDS
        await self._stop_taking()
        await self._task

    async def _process(self, batch: list[_Item]) -> None:
        try:
            await self._commit_until_done(batch)
        except Exception as exc:  # the connection itself failed (disk full, I/O error), or locked at close
            log.exception("store: a batch of %d writes failed", len(batch))
            fail_all(batch, exc)

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
        results: list[object] = []
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
                fail(batch[0][1], exc)
                return
            for item in batch:  # redo one by one: only the bad op's caller gets the error
                await self._commit_one(item)
            return
        settle(batch, results)

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
            fail(fut, exc)
            return
        settle((item,), (result,))
