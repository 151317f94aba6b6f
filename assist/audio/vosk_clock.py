"""Vosk's word-time clock, mirrored so that a reused recognizer reports the times a fresh one would.

Vosk (0.3.x, ``recognizer.cc``) reports a word's time as
``samples_round_start / sample_frequency + (frame_offset + frame) * 0.03``:

- the first term is where its current feature pipeline began, in samples fed since the recognizer was
  created, divided **in single precision** (``int64 / float`` is a float32 division in C++);
- a pipeline begins on the first audio after a ``FinalResult`` that finished a running utterance
  (``FinalResult`` frees the pipeline), or when an utterance continued after Vosk's own endpoint
  (``Result``) has decoded more than 20000 frames; otherwise audio after an endpoint continues the same
  pipeline, with its speaker adaptation (i-vector) and the frames it had not decoded yet.

A recognizer reused by the pool (``assist.audio.pool``) has fed ``base`` samples before the current
call.  Subtracting ``base / rate`` from its times is not enough: the float32 origin differs from a fresh
recognizer's by rounding that grows with everything the recognizer has heard (measured with the Korean
model: 0.5 µs after 10 s, 3.5 µs after 100 s, 10.5 µs after 1000 s of earlier audio), enough to move a
millisecond-rounded transcript time.  ``VoskClock`` follows Vosk's state machine (which calls start a
pipeline, and where), removes the origin exactly as Vosk computed it and adds the origin a fresh
recognizer would have computed for the same pipeline.  What remains is Vosk printing its times with six
decimals: reused and fresh times agree within 1 µs whatever the recognizer served before.

``reset_needs_finish`` tells ``VoskRecognizer.reset`` whether Vosk still holds a pipeline (a call cut
mid-utterance, or one that ended right after Vosk's own endpoint): that pipeline must be finished, or the
next call starts with the previous call's adaptation and undecoded frames (measured: other words).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

_FRAME_S = 0.03  # Vosk's output frame (10 ms features, frame subsampling 3)
_MAX_CONTINUED_FRAMES = 20000  # Vosk starts a new pipeline past this many frames without one


class VoskState(StrEnum):
    INITIALIZED = "initialized"  # created, nothing fed: the constructor's pipeline is there
    RUNNING = "running"  # audio fed since the last result
    ENDPOINT = "endpoint"  # after Result() or Reset(): the next audio continues the pipeline, if any
    FINALIZED = "finalized"  # after FinalResult() of a running utterance: the pipeline is gone


def _origin(samples: int, rate: int) -> float:
    """``samples / rate`` as Vosk computes it: both converted to float32, divided in float32."""
    return float(np.float32(samples) / np.float32(rate))


@dataclass(slots=True)
class VoskClock:
    """Mirrors one ``KaldiRecognizer``'s clock; every method is called right after the Vosk call it names."""

    sample_rate: int
    base: int = 0  # samples fed before the current call (earlier calls, warm-up)
    fed: int = 0  # samples fed in the current call
    pipeline_start: int | None = 0  # Vosk's samples_round_start of its current pipeline; None: no pipeline
    state: VoskState = VoskState.INITIALIZED

    @property
    def total(self) -> int:
        return self.base + self.fed

    def accepted(self, samples: int) -> None:
        """``AcceptWaveform`` (of ``samples`` samples, possibly 0) returned."""
        cleans_up = self.state not in (VoskState.RUNNING, VoskState.INITIALIZED)  # Vosk's CleanUp()
        if cleans_up and (self.pipeline_start is None or self.state is VoskState.FINALIZED
                          or self._past_frame_limit()):
            self.pipeline_start = self.total  # a new pipeline, its clock at every sample fed so far
        self.state = VoskState.RUNNING
        self.fed += samples

    def _past_frame_limit(self) -> bool:
        """Approximates Vosk's count of frames decoded in a continued pipeline (it lags the audio by a few
        frames).  Only reached by utterances continued across Vosk's own endpoints for 10 minutes."""
        assert self.pipeline_start is not None
        frames = (self.total - self.pipeline_start) / (self.sample_rate * _FRAME_S)
        return frames > _MAX_CONTINUED_FRAMES

    def result(self) -> None:
        """``Result()`` after an endpoint returned: the utterance ends, the pipeline stays."""
        if self.state is VoskState.RUNNING:
            self.state = VoskState.ENDPOINT

    def final_result(self) -> None:
        """``FinalResult()`` returned: a running utterance ended and its pipeline was freed."""
        if self.state is VoskState.RUNNING:
            self.state = VoskState.FINALIZED
            self.pipeline_start = None

    @property
    def reset_needs_finish(self) -> bool:
        """Vosk still holds a pipeline that the next call would otherwise continue."""
        return self.pipeline_start is not None

    def reset(self) -> None:
        """``Reset()`` returned after the pipeline was finished: the next call's times start at 0."""
        self.state = VoskState.ENDPOINT
        self.base += self.fed
        self.fed = 0

    def call_seconds(self, vosk_time: float) -> float:
        """A time Vosk reported for the current pipeline, as a fresh recognizer fed only this call would
        report it (seconds of this call's samples)."""
        start = self.pipeline_start
        if self.base == 0 or start is None:
            return vosk_time - self.base / self.sample_rate
        fresh_start = max(start - self.base, 0)
        return vosk_time - _origin(start, self.sample_rate) + _origin(fresh_start, self.sample_rate)
