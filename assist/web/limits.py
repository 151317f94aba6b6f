"""Transport limits: websocket heartbeats and the live audio pace.

* ``keepalive_kwargs``: websocket heartbeats (defaults in ``assist.settings``, docs/security.md).
* ``AudioRateLimiter``: live audio faster than ``max_speed`` × real time is
  throttled (the caller awaits the returned delay); sustained faster than
  ``refuse_speed`` is refused with ``rate_limited`` (defaults: ``assist.protocol.pace``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.pace import BURST_SECONDS, LIVE_MAX_SPEED, LIVE_REFUSE_SPEED
from assist.settings import CLOSE_TIMEOUT, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT

Clock = Callable[[], float]


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
