"""Resource limits: audio pace, decode CPU share for training, call length, capacity, drops.

* defaults (docs/security.md) and ``keepalive_kwargs``: websocket heartbeats.
* ``AudioRateLimiter``: live audio faster than ``max_speed`` × real time is
  throttled (the caller awaits the returned delay); sustained faster than
  ``refuse_speed`` is refused with ``rate_limited``.
* ``DecodeGate``: decode jobs take a slot; live jobs always go first and
  training replays hold at most a share of the slots, so replays may run
  faster than real time without starving live calls.
* ``MaxCallLength``, ``Capacity`` and ``DropCounters``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

from assist.errors import ErrorCode, ProtocolError

Clock = Callable[[], float]


# Defaults of the limits this module enforces (the server's config may override them).
LIVE_MAX_SPEED = 2.0       # live audio above 2x real time is throttled...
LIVE_REFUSE_SPEED = 4.0    # ...and refused when sustained above 4x
BURST_SECONDS = 2.0        # audio a live call may send at once before throttling starts
TRAINING_SHARE = 0.5       # at most this share of decode slots runs training replays
HEARTBEAT_INTERVAL = 15.0  # websocket ping every 15 s...
HEARTBEAT_TIMEOUT = 15.0   # ...closed when no pong within 15 s...
CLOSE_TIMEOUT = 5.0        # ...and the closing handshake abandoned after 5 s: a silent peer is gone < 40 s
SHUTDOWN_GRACE = 8.0       # SIGTERM: calls get this long to flush, the process exits within 10 s


def keepalive_kwargs(
    interval: float = HEARTBEAT_INTERVAL, timeout: float = HEARTBEAT_TIMEOUT, close_timeout: float = CLOSE_TIMEOUT
) -> dict[str, Any]:
    """Keyword arguments for ``websockets.asyncio.server.serve``: a silent peer is closed
    within ``interval + timeout + close_timeout`` seconds (35 s by default)."""
    if not (interval > 0 and timeout > 0 and close_timeout > 0):
        raise ValueError("heartbeat interval and timeouts must be positive")
    return {"ping_interval": interval, "ping_timeout": timeout, "close_timeout": close_timeout}


class AudioRateLimiter:
    """Token bucket over seconds of audio.

    The bucket holds up to ``burst_seconds`` of audio and refills at
    ``max_speed`` audio seconds per wall second.  ``check(audio_seconds)``
    takes the audio and returns how long the caller should wait before reading
    more (0 when within pace): awaiting it throttles the sender to
    ``max_speed``, TCP back-pressure doing the rest.  When the audio received
    over the last ``refuse_window`` seconds exceeds ``refuse_speed`` × real
    time (a sender the caller did not or could not slow down), ``check`` raises
    ``ProtocolError(RATE_LIMITED)``.  ``max_speed=math.inf`` never limits.
    """

    def __init__(
        self,
        max_speed: float = LIVE_MAX_SPEED,
        burst_seconds: float = BURST_SECONDS,
        *,
        refuse_speed: float | None = LIVE_REFUSE_SPEED,
        refuse_window: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if not max_speed > 0 or not burst_seconds > 0 or not refuse_window > 0:
            raise ValueError("max_speed, burst_seconds and refuse_window must be positive")
        if refuse_speed is not None and refuse_speed < max_speed:
            raise ValueError("refuse_speed must be at least max_speed")
        self.max_speed = max_speed
        self.burst_seconds = burst_seconds
        self.refuse_speed = refuse_speed
        self.refuse_window = refuse_window
        self._clock = clock
        self._allowance = burst_seconds
        self._last: float | None = None
        self._started: float | None = None
        self._recent: deque[tuple[float, float]] = deque()  # (wall time, audio seconds)
        self._recent_audio = 0.0
        self.audio_seconds = 0.0
        self.throttled = 0        # checks that returned a delay
        self.throttled_seconds = 0.0

    @classmethod
    def unlimited(cls, clock: Clock = time.monotonic) -> AudioRateLimiter:
        return cls(math.inf, 1.0, refuse_speed=None, clock=clock)

    @property
    def limited(self) -> bool:
        return math.isfinite(self.max_speed)

    def recent_speed(self) -> float:
        """Audio seconds per wall second over the last ``refuse_window`` (0 before one has passed)."""
        if self._started is None:
            return 0.0
        now = self._clock()
        self._expire(now)
        if now - self._started < self.refuse_window:
            return 0.0
        return self._recent_audio / self.refuse_window

    def _expire(self, now: float) -> None:
        horizon = now - self.refuse_window
        while self._recent and self._recent[0][0] <= horizon:
            self._recent_audio -= self._recent.popleft()[1]

    def check(self, audio_seconds: float) -> float:
        """Account ``audio_seconds`` just received; the delay (s) to await before reading on."""
        if audio_seconds < 0 or not math.isfinite(audio_seconds):
            raise ValueError("audio_seconds must be a finite non-negative number")
        self.audio_seconds += audio_seconds
        if not self.limited:
            return 0.0
        now = self._clock()
        if self._last is None:
            self._last = self._started = now
        self._allowance = min(self.burst_seconds, self._allowance + (now - self._last) * self.max_speed)
        self._last = now
        self._allowance -= audio_seconds
        if self.refuse_speed is not None:
            self._recent.append((now, audio_seconds))
            self._recent_audio += audio_seconds
            speed = self.recent_speed()
            if speed > self.refuse_speed:
                raise ProtocolError(
                    ErrorCode.RATE_LIMITED,
                    f"audio arrives at {speed:.1f}x real time; live calls may send at most "
                    f"{self.max_speed:g}x",
                )
        if self._allowance >= 0:
            return 0.0
        delay = -self._allowance / self.max_speed
        self.throttled += 1
        self.throttled_seconds += delay
        return delay


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


class MaxCallLength:
    """Ends calls that run too long: by audio time, or by wall time plus ``wall_slack``."""

    def __init__(self, max_seconds: float, *, wall_slack: float = 60.0, clock: Clock = time.monotonic) -> None:
        if not max_seconds > 0:
            raise ValueError("max_seconds must be positive")
        self.max_seconds = max_seconds
        self.wall_slack = wall_slack
        self._clock = clock
        self._started = clock()

    def remaining(self, audio_seconds: float) -> float:
        """Audio seconds left before the limit (negative once over)."""
        wall_left = self.max_seconds + self.wall_slack - (self._clock() - self._started)
        return min(self.max_seconds - audio_seconds, wall_left)

    def check(self, audio_seconds: float) -> None:
        """Raise ``ProtocolError(CALL_TOO_LONG)`` once the call is over the limit."""
        if self.remaining(audio_seconds) < 0:
            raise ProtocolError(
                ErrorCode.CALL_TOO_LONG, f"calls may last at most {self.max_seconds:g} seconds"
            )


class Capacity:
    """A count of concurrent things (calls, subscribers) with a hard limit."""

    def __init__(self, limit: int, code: ErrorCode, what: str) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.code = code
        self.what = what
        self.in_use = 0
        self.refused = 0

    @contextmanager
    def lease(self) -> Iterator[None]:
        """Hold one unit for the body; ``ProtocolError(code)`` when none is free."""
        if self.in_use >= self.limit:
            self.refused += 1
            raise ProtocolError(self.code, f"the server already has {self.limit} {self.what}; try again later")
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1


class DropCounters:
    """Named counters of items dropped from bounded queues; ``listener`` sees every drop."""

    def __init__(self, listener: Callable[[str, int], None] | None = None) -> None:
        self._counts: dict[str, int] = {}
        self._listener = listener

    def dropped(self, queue: str, count: int = 1) -> None:
        if count <= 0:
            return
        self._counts[queue] = self._counts.get(queue, 0) + count
        if self._listener is not None:
            self._listener(queue, count)

    def __getitem__(self, queue: str) -> int:
        return self._counts.get(queue, 0)

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def snapshot(self) -> dict[str, int]:
        return dict(self._counts)
