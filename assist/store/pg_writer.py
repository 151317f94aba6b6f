"""Group commit to PostgreSQL that rides out the database being briefly unavailable.

Writes are small async functions (*ops*) run on one pooled connection.  The writer
task takes everything queued (up to ``MAX_BATCH``), runs it in one transaction (a lone op runs
without BEGIN/COMMIT: its statements are idempotent upserts, and that saves two round trips) and
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
from typing import Final

import asyncpg

from assist.store.batch import BatchWriter, Item, WriterClosed, fail, fail_all, settle
from assist.store.batch import Op as BatchOp

log = logging.getLogger(__name__)

RETRY_FIRST: Final[float] = 0.05  # s before the first retry of a batch the database refused
RETRY_MAX: Final[float] = 2.0  # s between retries at most

PgOp = BatchOp[asyncpg.Connection]
_Item = Item[asyncpg.Connection]

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


class PgGroupWriter(BatchWriter[asyncpg.Connection]):
    """Serialises the writes of one store onto a connection pool, retrying while the database is away."""

    def __init__(self, pool: asyncpg.Pool, queue_size: int) -> None:
        self._pool = pool
        self.unavailable_since: float | None = None
        super().__init__(queue_size, "pg-store-writer")

    async def close(self, grace: float = 10.0) -> None:
        """Commit what is queued (waiting up to ``grace`` s for an unavailable database), then stop."""
        if not await self._stop_taking():
            return
        done, _ = await asyncio.wait({self._task}, timeout=grace)
        if not done:
            log.error("store: the database stayed unavailable; %d queued write(s) not committed", self.queued)
            self._task.cancel()
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None:
                    fail(item[1], WriterClosed("the store closed before the database came back"))

    async def _process(self, batch: list[_Item]) -> None:
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
                fail_all(batch, exc)
            if self.unavailable_since is not None:
                log.warning("store: PostgreSQL back after %.1f s", loop.time() - self.unavailable_since)
                self.unavailable_since = None
            return

    async def _commit_batch(self, batch: list[_Item]) -> None:
        async with self._pool.acquire() as conn:
            if len(batch) == 1:  # a lone op needs no BEGIN/COMMIT round trips (ops are idempotent)
                await self._commit_one(conn, batch[0], transaction=False)
                return
            try:
                async with conn.transaction():
                    results = [await op(conn) for op, _ in batch]
            except UNAVAILABLE:
                raise
            except Exception:
                for item in batch:  # redo one by one: only the bad op's caller gets the error
                    await self._commit_one(conn, item)
                return
        settle(batch, results)

    @staticmethod
    async def _commit_one(conn: asyncpg.Connection, item: _Item, *, transaction: bool = True) -> None:
        op, fut = item
        if fut.done():
            return
        try:
            if transaction:
                async with conn.transaction():
                    result = await op(conn)
            else:
                result = await op(conn)
        except UNAVAILABLE:
            raise
        except Exception as exc:
            fail(fut, exc)
            return
        settle((item,), (result,))
