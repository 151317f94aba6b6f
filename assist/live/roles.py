"""One role of a call: its counters, its open utterance, and recognizer results turned into transcripts.

A ``RoleState`` is what ``CallSession`` keeps per role (``agent``, ``caller`` or ``mixed``): the
bounded queue its decode worker reads, the decoder, the utterance ids handed out so far and, for a
resumed call, the point up to which speech was already delivered by the earlier connection.
``RoleState.transcript`` assigns utterance ids and drops empty, repeated and replayed results.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import Hypothesis
from assist.live.resumption import REPLAY_TOLERANCE, TAKEOVER_TOLERANCE, ResumePoint, RolePoint
from assist.protocol.enums import Role
from assist.protocol.events import Transcript, Word

Int16Array = npt.NDArray[np.int16]


@dataclass(slots=True)
class RoleStats:
    """Per-role counters; the decoder figures are copied from ``ChannelDecoder.stats``."""

    audio_in_s: float = 0.0
    audio_decoded_s: float = 0.0
    decode_cpu_s: float = 0.0
    segments: int = 0
    partials: int = 0
    finals: int = 0
    decode_calls: int = 0
    replayed: int = 0  # resumed call: re-decoded transcripts dropped as already delivered

    @property
    def rtf(self) -> float:
        """Real-time factor: decoding CPU seconds per second of audio."""
        return self.decode_cpu_s / self.audio_in_s if self.audio_in_s else 0.0


@dataclass(slots=True)
class RoleState:
    role: Role
    decoder: ChannelDecoder | None  # None for a transcript-source call
    queue: asyncio.Queue[Int16Array | None]
    stats: RoleStats = field(default_factory=RoleStats)
    count: int = 0
    open_id: str | None = None
    last_partial: str | None = None
    task: asyncio.Task[None] | None = None
    resume: RolePoint | None = None  # until the first transcript past the resume point
    last_final: RolePoint = field(default_factory=RolePoint)  # for the next resume
    observed_end: float = -1.0  # latest transcript end whose latency was measured

    def copy_stats(self) -> None:
        """Copy the decoder's current figures into ``stats``."""
        if self.decoder is None:
            return
        stats = self.decoder.stats
        self.stats.audio_decoded_s = stats.audio_decoded_s
        self.stats.decode_cpu_s = stats.decode_cpu_s
        self.stats.segments = stats.segments

    def point(self, earlier_call: ResumePoint | None) -> RolePoint:
        """Where this role stands now, merged with where an earlier connection of the call stopped."""
        earlier = earlier_call.role(self.role) if earlier_call is not None else RolePoint()
        point = self.last_final.merge(earlier)
        return RolePoint(
            next_index=max(self.count, earlier.next_index),
            last_id=point.last_id,
            last_start=point.last_start,
            floor=point.floor,
        )

    def count_pushed(self, transcript: Transcript) -> None:
        """A ready-made transcript of this role (transcript source): count it, note the last final."""
        if transcript.final:
            if transcript.text:
                self.stats.finals += 1
                self.last_final = RolePoint(
                    last_id=transcript.utterance_id, last_start=transcript.start, floor=transcript.end
                )
            index = transcript.utterance_id.rpartition("-")[2]
            if index.isdigit():  # the source's ids are role-N: the next connection goes on after N
                self.count = max(self.count, int(index) + 1)
        else:
            self.stats.partials += 1

    def replayed(self, hyp: Hypothesis, offset: float) -> bool:
        """Resumed call: is ``hyp`` speech the earlier connection already finalised?

        Until the first transcript that ends past the role's last stored final:
        those ending by then are replays (dropped); the first one past it that
        starts where the last final started takes over its id (the final the
        old session cut short, now complete).
        """
        point = self.resume
        if point is None or self.open_id is not None:
            return False
        if hyp.end + offset <= point.floor + REPLAY_TOLERANCE:
            self.stats.replayed += 1
            if hyp.final:
                self.last_partial = None
            return True
        self.resume = None
        if point.last_id is not None and hyp.start + offset <= point.last_start + TAKEOVER_TOLERANCE:
            self.open_id = point.last_id
        return False

    def transcript(self, hyp: Hypothesis, call_id: str, offset: float) -> Transcript | None:
        """Assign the utterance id; drop empty and repeated partials (and replays of a resumed call)."""
        text = hyp.text.strip()
        if (text or self.open_id is not None) and self.replayed(hyp, offset):
            return None
        if not hyp.final:
            if not text or text == self.last_partial:
                return None
            self.last_partial = text
            final = False
            words: tuple[Word, ...] = ()
        else:
            if not text and self.open_id is None:
                return None
            final = True
            words = tuple(Word(w.word, w.start + offset, w.end + offset, w.conf) for w in hyp.words)
        if self.open_id is None:
            self.open_id = f"{self.role}-{self.count}"
            self.count += 1
        event = Transcript(
            call_id=call_id,
            role=self.role,
            utterance_id=self.open_id,
            final=final,
            text=text,
            start=hyp.start + offset,
            end=hyp.end + offset,
            words=words,
        )
        if final:
            self.open_id = None
            self.last_partial = None
            if text:
                self.stats.finals += 1
                self.last_final = RolePoint(last_id=event.utterance_id, last_start=event.start, floor=event.end)
        else:
            self.stats.partials += 1
        return event
