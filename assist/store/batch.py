"""The queue of a group-commit writer, shared by both store backends (SQLite and PostgreSQL).

Writes are small async functions (*ops*) run on a backend's connection.  ``submit`` queues an op
and waits until the transaction holding it is committed; ``submit_nowait`` queues it without
waiting.  The writer task takes everything queued (up to ``MAX_BATCH``) and hands it to the
backend's ``_process``, which commits it and resolves each op's future.  The backends own only
how a batch is committed and what they retry (``assist.store.writer``, ``assist.store.pg_writer``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Generic, TypeAlias, TypeVar

MAX_BATCH: Final[int] = 256  # ops committed together at most

C = TypeVar("C")
Op: TypeAlias = Callable[[C], Awaitable[Any]]
Item: TypeAlias = tuple[Op[C], "asyncio.Future[Any]"]


class WriterClosed(Exception):
    """The writer is closed."""


class QueueFull(Exception):
    """``submit_nowait`` found the bounded queue full."""


class BatchWriter(Generic[C]):
    """A bounded queue of ops on connections of type ``C`` and the task that commits them in batches."""

    def __init__(self, queue_size: int, name: str) -> None:
        self._queue: asyncio.Queue[Item[C] | None] = asyncio.Queue(queue_size)
        self._closed = False
        self.retries = 0  # tries that found the database locked or away
        self._task = asyncio.create_task(self._run(), name=name)

    @property
    def maxsize(self) -> int:
        return self._queue.maxsize

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def submit(self, op: Op[C]) -> Any:
        """Queue ``op`` (waiting for room) and return its result once committed.

        If the caller is cancelled the op still runs; only its result is dropped.
        """
        if self._closed:
            raise WriterClosed("the store is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((op, fut))
        return await fut

    def submit_nowait(self, op: Op[C]) -> asyncio.Future[Any]:
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
        """Commit what is queued, then stop."""
        raise NotImplementedError

    async def _stop_taking(self) -> bool:
        """Refuse new ops and queue the stop mark behind those queued; False if already closed."""
        if self._closed:
            return False
        self._closed = True
        await self._queue.put(None)
        return True

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
            await self._process(batch)

    async def _process(self, batch: list[Item[C]]) -> None:
        """Commit ``batch`` and resolve the future of each of its ops."""
        raise NotImplementedError


def settle(batch: Sequence[Item[Any]], results: Sequence[Any]) -> None:
    """Give each op's caller its result (the batch committed)."""
    for (_, fut), result in zip(batch, results, strict=True):
        if not fut.done():
            fut.set_result(result)


def fail(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def fail_all(batch: Sequence[Item[Any]], exc: BaseException) -> None:
    for _, fut in batch:
        fail(fut, exc)
