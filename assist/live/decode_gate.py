"""Decode slots shared by live calls and training replays: live jobs always go first."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

TRAINING_SHARE = 0.5  # at most this share of decode slots runs training replays


class DecodeGate:
    """Decode slots shared by live calls and training replays.

    ``async with gate.slot(live=...)`` around each decode job (e.g. a
    ``run_in_executor`` on a ``ThreadPoolExecutor(max_workers=gate.slots)``).
    A free slot goes to the longest-waiting live job first; training jobs get
    one only when no live job waits and fewer than ``training_slots`` are held
    by training.  So live calls always have ``slots - training_slots`` slots
    (at least one) and never queue behind more than one training job per slot.
    """

    def __init__(self, slots: int, training_share: float = TRAINING_SHARE) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        if not 0 < training_share <= 1:
            raise ValueError("training_share must be in (0, 1]")
        self.slots = slots
        # with one slot, training may use it when live calls do not: live still goes first
        self.training_slots = max(1, min(slots - 1, math.floor(slots * training_share))) if slots > 1 else 1
        self.in_use = 0
        self.training_in_use = 0
        self._live: deque[asyncio.Future[None]] = deque()
        self._training: deque[asyncio.Future[None]] = deque()
        self.granted_live = 0
        self.granted_training = 0
        self.live_waited = 0      # live jobs that had to wait for a slot
        self.max_live_wait = 0.0  # longest such wait (s, monotonic clock)

    @property
    def live_waiting(self) -> int:
        return sum(not f.done() for f in self._live)

    @property
    def training_waiting(self) -> int:
        return sum(not f.done() for f in self._training)

    def _grantable(self, live: bool) -> bool:
        if self.in_use >= self.slots:
            return False
        if live:
            return True
        return self.training_in_use < self.training_slots and not self._live

    def _take(self, live: bool) -> None:
        self.in_use += 1
        if live:
            self.granted_live += 1
        else:
            self.training_in_use += 1
            self.granted_training += 1

    def _give_back(self, live: bool) -> None:
        self.in_use -= 1
        if not live:
            self.training_in_use -= 1
        self._wake()

    def _wake(self) -> None:
        while self.in_use < self.slots:
            if self._live:
                fut = self._live.popleft()
                live = True
            elif self._training and self.training_in_use < self.training_slots:
                fut = self._training.popleft()
                live = False
            else:
                return
            if fut.done():  # cancelled while waiting
                continue
            self._take(live)
            fut.set_result(None)

    async def acquire(self, *, live: bool) -> None:
        waiters = self._live if live else self._training
        if not waiters and self._grantable(live):
            self._take(live)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(fut)
        started = time.monotonic()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._give_back(live)  # granted just as we were cancelled
            else:
                with suppress(ValueError):
                    waiters.remove(fut)
                self._wake()  # a training waiter may have been held back by this live one
            raise
        if live:
            self.live_waited += 1
            self.max_live_wait = max(self.max_live_wait, time.monotonic() - started)

    def release(self, *, live: bool) -> None:
        self._give_back(live)

    @asynccontextmanager
    async def slot(self, *, live: bool) -> AsyncIterator[None]:
        """Hold a decode slot for the body (a live one if ``live``)."""
        await self.acquire(live=live)
        try:
            yield
        finally:
            self.release(live=live)
