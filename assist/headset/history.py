"""What a call client keeps so an interrupted call can be resumed (docs/client-capture.md).

* ``AudioHistory``: a ring buffer of the call audio already captured (the last
  ``max_seconds``), addressed by frame index from the start of the call, from
  which audio is sent and, after a reconnect, re-sent.
* ``TranscriptLedger``: the end of the last final transcript received per role
  (what the server has certainly decoded), the resume time derived from it, and
  the filter that recognises events replayed by the re-decoding of audio the
  client already showed, so nothing is shown twice.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt

from assist.text import join_cjk

Int16Array = npt.NDArray[np.int16]

REPLAY_TOLERANCE = 0.05  # seconds: re-decoded utterance ends may move by a few 10 ms frames



def ms_step(sample_rate: int) -> int:
    """The smallest number of frames that lasts a whole number of milliseconds."""
    return sample_rate // math.gcd(sample_rate, 1000)


def floor_to_ms(frames: int, sample_rate: int) -> int:
    """``frames`` rounded down to a frame index whose time is a whole number of milliseconds.

    Times travel as JSON numbers rounded to the millisecond, so a resume point
    on such a boundary means the same sample to the client and to the server.
    """
    step = ms_step(sample_rate)
    return frames - frames % step




class AudioHistory:
    """The call's audio as interleaved int16 little-endian bytes, the last ``max_seconds`` kept.

    Frame ``i`` is call time ``i / sample_rate``.  ``start``/``end`` are the
    first kept frame and the frame after the last one; ``start`` is always on
    a millisecond boundary (``floor_to_ms``).
    """

    def __init__(self, sample_rate: int, channels: int, max_seconds: float) -> None:
        if sample_rate <= 0 or channels < 1 or max_seconds <= 0:
            raise ValueError("sample_rate, channels and max_seconds must be positive")
        self.sample_rate = sample_rate
        self.channels = channels
        self.frame_bytes = 2 * channels
        self.max_frames = max(1, round(max_seconds * sample_rate))
        self._slack = max(ms_step(sample_rate), sample_rate // 2)  # trim in steps, not every append
        self._data = bytearray()
        self.start = 0

    @property
    def end(self) -> int:
        return self.start + len(self._data) // self.frame_bytes

    def seconds(self, frames: int) -> float:
        return frames / self.sample_rate

    def append(self, frames: Int16Array) -> None:
        """Add ``(n, channels)`` int16 frames at the end; forget the oldest beyond ``max_seconds``."""
        if frames.ndim != 2 or frames.shape[1] != self.channels:
            raise ValueError(f"expected int16 frames of shape (n, {self.channels}), got {frames.shape}")
        self._data += np.ascontiguousarray(frames, dtype="<i2").tobytes()
        excess = self.end - self.start - self.max_frames
        if excess > self._slack:
            drop = floor_to_ms(excess, self.sample_rate)
            del self._data[: drop * self.frame_bytes]
            self.start += drop

    def read(self, position: int, max_frames: int) -> bytes:
        """Up to ``max_frames`` frames from frame ``position`` (which must still be kept)."""
        if position < self.start:
            raise IndexError(f"frame {position} is no longer kept (history starts at {self.start})")
        first = (position - self.start) * self.frame_bytes
        return bytes(self._data[first : first + max(0, max_frames) * self.frame_bytes])


class TranscriptLedger:
    """Final transcripts received per role, and recognition of replayed events after a resume.

    ``covered[role]`` is the end time of the latest final of that role.  After a
    reconnect (``begin_connection``) the server re-decodes audio from the resume
    point, so finals, partials and prompts of audio already shown may come
    again, possibly with other utterance ids.  ``accept`` tells them apart:

    * a final of role r ending at most ``covered[r]`` (as it was at the
      reconnect, plus ``REPLAY_TOLERANCE``) is a replay, and so is one with the
      same text as an already shown final of r that it overlaps in time;
    * partials ending before that time are replays;
    * prompts and alerts of a replayed utterance (by utterance id) or with an
      ``audio_time`` before that time are replays.
    """

    def __init__(self, history_per_role: int = 500) -> None:
        self.covered: dict[str, float] = {}
        self._shown: dict[str, deque[tuple[float, float, str]]] = {}
        self._keep = history_per_role
        self._replay_until: dict[str, float] = {}
        self._replayed_ids: set[str] = set()
        self.replays_dropped = 0

    def resume_time(self, roles: tuple[str, ...]) -> float:
        """The earliest call time not covered by a final of every role (0 when a role has none)."""
        return min((self.covered.get(role, 0.0) for role in roles), default=0.0)

    def begin_connection(self) -> None:
        """A new connection resumes the call: what was covered so far may be replayed."""
        self._replay_until = dict(self.covered)
        self._replayed_ids = set()

    def accept(self, event: dict[str, Any]) -> bool:
        """False for an event that repeats what was already received before a reconnect."""
        kind = event.get("type")
        if kind == "transcript":
            keep = self._accept_transcript(event)
        elif kind in ("prompt", "alert"):
            keep = self._accept_card(event)
        else:
            keep = True
        if not keep:
            self.replays_dropped += 1
        return keep

    def _accept_transcript(self, event: dict[str, Any]) -> bool:
        role = str(event.get("role"))
        start, end = _number(event.get("start")), _number(event.get("end"))
        uid = str(event.get("utterance_id"))
        limit = self._replay_until.get(role)
        if not event.get("final"):
            return limit is None or end > limit + REPLAY_TOLERANCE
        text = join_cjk(str(event.get("text") or ""))
        if limit is not None and (end <= limit + REPLAY_TOLERANCE or self._shown_overlap(role, start, end, text)):
            self._replayed_ids.add(uid)
            return False
        self._replayed_ids.discard(uid)
        self.covered[role] = max(self.covered.get(role, 0.0), end)
        if text:
            self._shown.setdefault(role, deque(maxlen=self._keep)).append((start, end, text))
        return True

    def _accept_card(self, event: dict[str, Any]) -> bool:
        if not self._replay_until:
            return True
        if event.get("utterance_id") in self._replayed_ids:
            return False
        at = _number(event.get("audio_time"))
        role = event.get("role")
        if isinstance(role, str) and role in self._replay_until:
            limit = self._replay_until[role]
        else:  # an alert names no role: only what precedes every role's coverage is surely old
            limit = min(self._replay_until.values())
        return at > limit + REPLAY_TOLERANCE

    def _shown_overlap(self, role: str, start: float, end: float, text: str) -> bool:
        if not text:
            return False
        return any(t == text and s < end and start < e for s, e, t in self._shown.get(role, ()))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
