"""Transcript replay source: timed utterances released word by word on the audio clock.

A training room replays a stored call, and the Chinese pipeline is tested end to
end while no Chinese model is installed, by feeding timed lines (role, start,
end, text) instead of audio.  Each line is split into words whose times are
spread over [start, end]; a partial transcript is released when a word's end
time is reached on the audio clock, and the final at the line's end plus the
endpoint delay a recogniser would need — the same events the Vosk path makes.

A resumed call (``resume``, a ``ResumePoint`` read from the shared store) goes on where
the earlier connection stopped: utterance ids continue from each role's ``next_index``,
a line whose final the store already holds (it ends by the role's ``floor``) is dropped
as a replay, and the clock starts at ``start_at`` (the client's ``resume_from``), so
re-sent lines are not held back for the audio time the earlier connection played.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from assist.live.resumption import REPLAY_TOLERANCE, ResumePoint
from assist.protocol.events import Transcript, TranscriptLine, Word

TranscriptSink = Callable[[Transcript], Awaitable[None]]
WordSplitter = Callable[[str], Sequence[str]]

# Delay after the last word before a recogniser declares the utterance final.
ENDPOINT_DELAY = 0.3


def split_chars(text: str) -> list[str]:
    """Fallback splitter: whitespace-separated words, else one character per word."""
    parts = text.split()
    if len(parts) > 1:
        return parts
    return [c for c in text if not c.isspace()]


def timed_words(line: TranscriptLine, splitter: WordSplitter) -> tuple[Word, ...]:
    """Spread a line's words over its time span in proportion to their length."""
    words = [w for w in splitter(line.text) if w.strip()]
    total = sum(len(w) for w in words)
    if not words or total == 0:
        return ()
    span = max(line.end - line.start, 0.0)
    out: list[Word] = []
    t = line.start
    for w in words:
        dur = span * len(w) / total
        out.append(Word(word=w, start=t, end=t + dur))
        t += dur
    return tuple(out)


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    event: Transcript = field(compare=False)


class TranscriptReplayer:
    """Schedules transcript events of timed lines on an audio clock.

    ``speed`` 1 is real time, 2 twice as fast, 0 as fast as possible.  Lines may
    be added while the replay runs (they arrive over a websocket); events are
    released in audio-time order through ``sink``.
    """

    def __init__(
        self,
        call_id: str,
        sink: TranscriptSink,
        *,
        speed: float = 1.0,
        splitter: WordSplitter = split_chars,
        endpoint_delay: float = ENDPOINT_DELAY,
        clock: Callable[[], float] = time.monotonic,
        resume: ResumePoint | None = None,
        start_at: float = 0.0,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.call_id = call_id
        self._sink = sink
        self._speed = speed
        self._splitter = splitter
        self._endpoint_delay = endpoint_delay
        self._clock = clock
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._resume = resume
        self._counters: dict[str, int] = (
            {} if resume is None else {r: p.next_index for r, p in resume.roles.items()}
        )
        self._start_at = max(start_at, 0.0)
        self._wake = asyncio.Event()
        self._closed = False
        self._t0: float | None = None
        self.audio_end = 0.0
        self.released = 0
        self.replayed = 0  # lines of a resumed call dropped: their finals are already stored

    def audio_time(self) -> float:
        """Current position of the replay on the call's audio clock."""
        if self._t0 is None:
            return self._start_at
        if self._speed == 0:
            return float("inf")
        return self._start_at + (self._clock() - self._t0) * self._speed

    def add(self, line: TranscriptLine) -> str | None:
        """Schedule one line; returns its utterance id (None: a replay of a stored final, dropped)."""
        if self._closed:
            raise RuntimeError("replay already finished")
        if self._resume is not None and line.end <= self._resume.role(line.role).floor + REPLAY_TOLERANCE:
            self.replayed += 1
            return None
        n = self._counters.get(line.role, 0)
        self._counters[line.role] = n + 1
        utt = f"{line.role}-{n}"
        words = timed_words(line, self._splitter)
        self.audio_end = max(self.audio_end, line.end)
        for i in range(1, len(words) + 1):
            partial = self._transcript(line, utt, words[:i], final=False)
            heapq.heappush(self._due, _Due(partial.end, next(self._seq), partial))
        final = self._transcript(line, utt, words, final=True)
        heapq.heappush(self._due, _Due(line.end + self._endpoint_delay, next(self._seq), final))
        self._wake.set()
        return utt

    def _transcript(self, line: TranscriptLine, utt: str, words: tuple[Word, ...], *, final: bool) -> Transcript:
        """``line`` showing ``words``: a partial ends at its last word; the final at the line's end, with its words."""
        return Transcript(
            call_id=self.call_id,
            role=line.role,
            utterance_id=utt,
            final=final,
            text=" ".join(w.word for w in words),
            start=line.start,
            end=line.end if final else words[-1].end,
            words=words if final else (),
        )

    def hurry(self) -> None:
        """Release everything scheduled now, as fast as possible (the call is ending early or the server stops)."""
        self._speed = 0.0
        self._wake.set()

    def close(self) -> None:
        """No more lines will come: ``run`` returns once everything is released."""
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        """Release events until closed and drained."""
        self._t0 = self._clock()
        while True:
            while self._due and self._due[0].at <= self.audio_time():
                item = heapq.heappop(self._due)
                self.released += 1
                await self._sink(item.event)
            if self._closed and not self._due:
                return
            self._wake.clear()
            if self._due:
                wait = (self._due[0].at - self.audio_time()) / self._speed if self._speed else 0.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.0))
            else:
                await self._wake.wait()

    async def flush(self) -> None:
        """Release everything still scheduled at once (call ended early, or shutdown)."""
        self._closed = True
        while self._due:
            item = heapq.heappop(self._due)
            self.released += 1
            await self._sink(item.event)
