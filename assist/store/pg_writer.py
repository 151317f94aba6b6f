"""Group commit to PostgreSQL that rides out the database being briefly unavailable.

Writes are small async functions (*ops*) run on one pooled connection.  The writer
task takes everything queued (up to ``MAX_BATCH``), runs it in one transaction and
wakes the callers once committed.  If one op fails (an unknown call) the batch is
redone one op per transaction, so only that caller sees the error.

If the *database* fails (connection refused or lost, a restart, a failover) the
batch is kept and retried with capped exponential back-off until it commits:
nothing queued is lost, and writes queue up behind it in the bounded queue
(``record`` refuses with ``QueueFull`` only when that is full).  Every op is an
upsert keyed by its ids, so a batch that committed just before the connection
died can safely be run again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg

from assist.store.writer import QueueFull, WriterClosed

log = logging.getLogger(__name__)

MAX_BATCH: Final[int] = 256
RETRY_FIRST: Final[float] = 0.05  # s before the first retry of a batch the database refused
RETRY_MAX: Final[float] = 2.0  # s between retries at most

PgOp = Callable[[asyncpg.Connection], Awaitable[Any]]
_Item = tuple[PgOp, "asyncio.Future[Any]"]

# The database (not the op) failed: keep the batch and try again.
UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    TimeoutError,
)


class PgGroupWriter:
    """Serialises the writes of one store onto a connection pool, retrying while the database is away."""

    def __init__(self, pool: asyncpg.Pool, queue_size: int) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue(queue_size)
        self._closed = False
        self.retries = 0  # batches retried because the database was unavailable
        self.unavailable_since: float | None = None
        self._task = asyncio.create_task(self._run(), name="pg-store-writer")

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def submit(self, op: PgOp) -> Any:
        if self._closed:
            raise WriterClosed("the store is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((op, fut))
        return await fut

    def submit_nowait(self, op: PgOp) -> asyncio.Future[Any]:
        if self._closed:
            raise WriterClosed("the store is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((op, fut))
        except asyncio.QueueFull:
            raise QueueFull(f"{self._queue.maxsize} writes are already queued") from None
        return fut

    async def close(self, grace: float = 10.0) -> None:
        """Commit what is queued (waiting up to ``grace`` s for an unavailable database), then stop."""
        if self._closed:
            return
        self._closed = True
        await self._queue.put(None)
        done, _ = await asyncio.wait({self._task}, timeout=grace)
        if not done:
            log.error("store: the database stayed unavailable; %d queued write(s) not committed", self.queued)
            self._task.cancel()
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None and not item[1].done():
                    item[1].set_exception(WriterClosed("the store closed before the database came back"))

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
            await self._commit_until_done(batch)

    async def _commit_until_done(self, batch: list[_Item]) -> None:
        delay = RETRY_FIRST
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._commit_batch(batch)
            except UNAVAILABLE as exc:
                if self.unavailable_since is None:
                    self.unavailable_since = loop.time()
                    log.warning("store: PostgreSQL unavailable (%s); %d write(s) kept and retried",
                                type(exc).__name__, len(batch))
                self.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            except Exception as exc:  # not the connection: something no retry will fix
                log.exception("store: a batch of %d writes failed", len(batch))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
            if self.unavailable_since is not None:
                log.warning("store: PostgreSQL back after %.1f s", loop.time() - self.unavailable_since)
                self.unavailable_since = None
            return

    async def _commit_batch(self, batch: list[_Item]) -> None:
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    results = [await op(conn) for op, _ in batch]
            except UNAVAILABLE:
                raise
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0][1], exc)
                    return
                for item in batch:  # redo one by one: only the bad op's caller gets the error
                    await self._commit_one(conn, item)
                return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    @staticmethod
    async def _commit_one(conn: asyncpg.Connection, item: _Item) -> None:
        op, fut = item
        if fut.done():
            return
        try:
            async with conn.transaction():
                result = await op(conn)
        except UNAVAILABLE:
            raise
        except Exception as exc:
            _fail(fut, exc)
            return
        if not fut.done():
            fut.set_result(result)


def _fail(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
