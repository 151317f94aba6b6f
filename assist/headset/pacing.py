"""How fast the call client tries again and sends again: reconnection back-off and the catch-up pace."""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """Delays between reconnection attempts: ``initial`` doubling up to ``maximum``, ± ``jitter``."""

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 10.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < initial <= maximum or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("need 0 < initial <= maximum, factor >= 1 and 0 <= jitter < 1")
        self.initial, self.maximum, self.factor, self.jitter = initial, maximum, factor, jitter
        self._rng = rng or random.Random()
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self.maximum, self._next * self.factor)
        return delay * (1 + self.jitter * (2 * self._rng.random() - 1))


class Pacer:
    """Token bucket over audio seconds: a re-sent backlog goes at most ``max_speed`` × real time.

    The server throttles live audio above 2× real time and refuses it when
    sustained above 4× (assist/web/limits.py); pacing the catch-up keeps well clear.
    """

    def __init__(self, max_speed: float | None, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_speed = max_speed
        self.burst = burst
        self._clock = clock
        self._allowance = burst
        self._last = clock()

    def take(self, seconds: float) -> float:
        """Account ``seconds`` of audio about to be sent; the delay to wait first."""
        if self.max_speed is None:
            return 0.0
        now = self._clock()
        self._allowance = min(self.burst, self._allowance + (now - self._last) * self.max_speed)
        self._last = now
        self._allowance -= seconds
        return max(0.0, -self._allowance / self.max_speed)
