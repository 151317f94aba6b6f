"""Transcript latency: from the audio that completed a transcript's newest word arriving to its delivery."""

from __future__ import annotations

import bisect
import time

MAX_ARRIVALS = 4000  # audio arrival times kept for the latency histogram (~400 s of 100 ms messages)


class ArrivalClock:
    """When each stretch of call audio arrived (monotonic), bounded to ``MAX_ARRIVALS`` messages."""

    def __init__(self) -> None:
        self._ends: list[float] = []  # call-audio time at the end of each message received ...
        self._times: list[float] = []  # ... and when it arrived (monotonic)

    def arrived(self, audio_end: float) -> None:
        if len(self._ends) >= MAX_ARRIVALS:
            del self._ends[: MAX_ARRIVALS // 2]
            del self._times[: MAX_ARRIVALS // 2]
        self._ends.append(audio_end)
        self._times.append(time.monotonic())

    def since(self, audio_end: float) -> float | None:
        """Seconds since the audio up to ``audio_end`` arrived (None: not among those kept)."""
        i = bisect.bisect_left(self._ends, audio_end - 1e-6)
        if i < len(self._times):
            return time.monotonic() - self._times[i]
        return None
