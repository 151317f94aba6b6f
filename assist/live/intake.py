"""A call's audio as it arrives: raw bytes to int16 frames (one column per role), what was received, and when
each stretch arrived, from which a transcript's latency is measured (``latency.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assist.audio.pcm import FrameAssembler, Int16Array
from assist.live.latency import ArrivalClock
from assist.live.roles import RoleState
from assist.protocol.events import Start, Transcript

if TYPE_CHECKING:
    from assist.live.metrics import Metrics


class AudioIntake:
    """The audio of one call received so far."""

    def __init__(self, start: Start, metrics: Metrics | None) -> None:
        self.sample_rate = start.sample_rate
        self.frames = 0
        self.audio_bytes = 0
        self._assembler = FrameAssembler(start.encoding, start.channels)
        self._arrivals = ArrivalClock()
        self._metrics = metrics

    @property
    def seconds(self) -> float:
        """Seconds of call audio received (whole frames)."""
        return self.frames / self.sample_rate

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame held back."""
        return self._assembler.pending_bytes

    def take(self, data: bytes, offset: float) -> Int16Array:
        """The whole frames ``data`` completes (any split); with metrics on, notes when the audio up to
        ``offset`` + the seconds received arrived."""
        self.audio_bytes += len(data)
        frames = self._assembler.push(data)
        if len(frames):
            self.frames += len(frames)
            if self._metrics is not None:
                self._arrivals.arrived(offset + self.seconds)
        return frames

    @property
    def measuring(self) -> bool:
        """Latencies are measured (metrics are on)."""
        return self._metrics is not None

    def observe_latency(self, state: RoleState, event: Transcript) -> None:
        """Transcript latency of ``event`` (of ``state``'s role): from the audio that completed its newest
        word arriving to now."""
        if self._metrics is None:
            return
        if event.end <= state.observed_end:
            return  # no new word: a final confirming what a partial showed
        state.observed_end = event.end
        waited = self._arrivals.since(event.end)
        if waited is not None:
            self._metrics.transcript_latency(waited)
