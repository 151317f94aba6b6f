"""A pool of warm recognizers per model and sample rate, reused across calls.

A new Kaldi recognizer spends its first utterances filling the caches of its
lookahead decoding graph: measured with the Korean test model on 9.8 s of
espeak-ng speech, 2.8 s of CPU for a new recognizer against 0.5 s for the same
recognizer on the same audio again, and 1.3 to 1.6 s after a warm-up on other
speech (docs/performance.md, issue 14).  The caches belong to the recognizer,
so a call that builds fresh recognizers throws them away.  The pool keeps them:

- ``create()`` (a ``RecognizerFactory``, so the pool stands wherever a factory
  does) hands out the most recently used idle recognizer, reset, or a new one
  when none is idle (grow on demand).  Most recently used first: the warmest
  recognizers serve, and the ones left over go idle and are the ones trimmed.
- ``release(recognizer)`` takes one back after its call.  It is reset (Vosk
  ``FinalResult`` then ``Reset``, see ``VoskRecognizer.reset``) before it serves
  again, in the decode thread that asks for it, so the event loop never waits
  for Kaldi; nothing of one call (words, partials, features, times) reaches the
  next.  Beyond ``max_idle`` idle recognizers it is dropped instead.
- ``warm_up()`` builds ``warm`` recognizers and decodes ``warm_audio`` through
  each (speech: synthetic signals barely fill the caches, see the figures).
- ``trim()`` drops recognizers idle for longer than ``idle_seconds``, down to
  ``warm`` of them (shrink when idle); the server runs it periodically.

The shipped warm-up audio ``data/warmup_8k.wav`` is 9.9 s of espeak-ng Mandarin
(telephone band, 8 kHz), made with ``bench.speech.synthesize`` (voice ``cmn``,
220 words per minute, 0.2 s pauses) so start-up needs neither espeak-ng nor a
recording; it is resampled to the model rate on loading.
"""

from __future__ import annotations

import logging
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from assist.audio.recognizer import StreamRecognizer
from assist.audio.resample import StreamResampler

log = logging.getLogger(__name__)

WARMUP_WAV = Path(__file__).with_name("data") / "warmup_8k.wav"
_BLOCK_S = 0.1  # warm-up audio is fed in 100 ms blocks, as calls are


class ResettableRecognizer(StreamRecognizer, Protocol):
    def reset(self) -> None:
        """Forget everything fed so far; keep what makes the recognizer fast (its graph caches)."""


class ResettableFactory(Protocol):
    name: str
    sample_rate: int

    def create(self) -> ResettableRecognizer: ...


@dataclass(frozen=True, slots=True)
class PoolConfig:
    warm: int = 2  # recognizers built and warmed at start-up, and kept however long idle
    max_idle: int = 16  # idle recognizers kept at most (each holds its caches: tens of MB)
    idle_seconds: float = 300.0  # an idle recognizer beyond ``warm`` is dropped after this long

    def __post_init__(self) -> None:
        if not 0 <= self.warm <= self.max_idle:
            raise ValueError(f"pool warm must be between 0 and max_idle ({self.max_idle}), got {self.warm}")
        if self.idle_seconds <= 0:
            raise ValueError("pool idle_seconds must be positive")


@dataclass(frozen=True, slots=True)
class PoolStats:
    idle: int
    in_use: int
    created: int  # recognizers built (warm-up and on demand)
    reused: int  # calls served by a recognizer that served before
    dropped: int  # recognizers let go (trimmed, over max_idle, or failed)


@dataclass(slots=True)
class _Idle:
    recognizer: ResettableRecognizer
    since: float  # monotonic time it went idle
    dirty: bool  # served a call since its last reset


def load_warmup_audio(sample_rate: int, path: Path = WARMUP_WAV) -> bytes:
    """The warm-up speech as s16le mono at ``sample_rate`` (resampled from the file's rate)."""
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: warm-up audio must be 16-bit mono")
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    resampler = StreamResampler(rate, sample_rate)
    out = np.concatenate([resampler.process(samples), resampler.flush()])
    return out.astype("<i2").tobytes()


class RecognizerPool:
    """Warm recognizers of one model and sample rate (see the module docstring).  Thread-safe."""

    def __init__(
        self,
        factory: ResettableFactory,
        config: PoolConfig | None = None,
        *,
        warm_audio: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.factory = factory
        self.config = config or PoolConfig()
        self.name = factory.name
        self.sample_rate = factory.sample_rate
        self._warm_audio = warm_audio
        self._clock = clock
        self._lock = threading.Lock()
        self._idle: list[_Idle] = []  # most recently released last
        self._in_use: dict[int, ResettableRecognizer] = {}  # handed out, by id()
        self._served: set[int] = set()  # id() of recognizers that served at least one call
        self._created = self._reused = self._dropped = 0

    @property
    def key(self) -> tuple[str, int]:
        """What the pooled recognizers are interchangeable for: one model at one sample rate."""
        return (self.name, self.sample_rate)

    # ------------------------------------------------------------ factory side

    def create(self) -> ResettableRecognizer:
        """A recognizer for a new call: a warm idle one (reset here) or a new one.  Blocking: call it
        from a decode thread (the reset may finish an utterance and a new recognizer loads its graph)."""
        with self._lock:
            entry = self._idle.pop() if self._idle else None
            if entry is not None:
                self._in_use[id(entry.recognizer)] = entry.recognizer
                if id(entry.recognizer) in self._served:
                    self._reused += 1
        if entry is None:
            recognizer = self.factory.create()
            with self._lock:
                self._created += 1
                self._in_use[id(recognizer)] = recognizer
            return recognizer
        if entry.dirty:
            try:
                entry.recognizer.reset()
            except Exception:
                log.exception("pooled recognizer failed to reset; building a new one")
                self._forget(entry.recognizer)
                return self.create()
        return entry.recognizer

    def release(self, recognizer: StreamRecognizer) -> None:
        """Take back a recognizer after its call (from any thread, without blocking: the reset happens
        when it is handed out again).  One the pool did not hand out, or over ``max_idle``, is dropped."""
        with self._lock:
            key = id(recognizer)
            pooled = self._in_use.pop(key, None)
            if pooled is None:
                return
            self._served.add(key)
            if len(self._idle) >= self.config.max_idle:
                self._served.discard(key)
                self._dropped += 1
                return
            self._idle.append(_Idle(pooled, self._clock(), dirty=True))

    def discard(self, recognizer: StreamRecognizer) -> None:
        """A recognizer handed out that must not serve again (its call failed inside it)."""
        self._forget(recognizer)

    def _forget(self, recognizer: StreamRecognizer) -> None:
        with self._lock:
            if self._in_use.pop(id(recognizer), None) is not None:
                self._served.discard(id(recognizer))
                self._dropped += 1

    # ------------------------------------------------------------ warm-up and trimming

    def warm_up(self, count: int | None = None) -> float:
        """Build ``count`` (default ``config.warm``) recognizers, decode the warm-up audio through each
        and leave them idle; returns the CPU seconds spent.  Blocking: run it in a thread."""
        wanted = self.config.warm if count is None else count
        began = time.thread_time()
        for _ in range(wanted):
            with self._lock:
                if len(self._idle) >= self.config.max_idle:
                    break
            recognizer = self.factory.create()
            if self._warm_audio:
                step = max(2, round(self.sample_rate * _BLOCK_S) * 2)
                for i in range(0, len(self._warm_audio), step):
                    recognizer.accept(self._warm_audio[i : i + step])
                recognizer.flush()
                recognizer.reset()
            with self._lock:
                self._created += 1
                self._idle.insert(0, _Idle(recognizer, self._clock(), dirty=False))
        return time.thread_time() - began

    def trim(self) -> int:
        """Drop recognizers idle for longer than ``idle_seconds``, keeping ``warm`` of them; returns how many.
        The least recently used go first.  Their memory goes back when the last reference does."""
        now = self._clock()
        with self._lock:
            keep_at_least = self.config.warm
            dropped: list[_Idle] = []
            while len(self._idle) > keep_at_least and now - self._idle[0].since > self.config.idle_seconds:
                entry = self._idle.pop(0)
                self._served.discard(id(entry.recognizer))
                dropped.append(entry)
            self._dropped += len(dropped)
        count = len(dropped)
        dropped.clear()  # the recognizers are freed here, outside the lock
        return count

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(len(self._idle), len(self._in_use), self._created, self._reused, self._dropped)


def pool_for(factory: object, config: PoolConfig) -> RecognizerPool | None:
    """A pool over ``factory`` when its recognizers can be reset (Vosk), with the shipped warm-up speech.

    Other factories (scripted test doubles, ``--no-model``) are used as they are: None.
    """
    from assist.audio.recognizer import VoskModelFactory

    if not isinstance(factory, VoskModelFactory):
        return None
    return RecognizerPool(factory, config, warm_audio=load_warmup_audio(factory.sample_rate))
