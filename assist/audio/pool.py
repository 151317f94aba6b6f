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
  ``warm`` of them (shrink when idle).

A memory budget per recognizer, so the pool's memory comes back after load:
a recognizer's caches grow with every different call it decodes (about 65 MB
after warm-up, 100-120 MB after several calls), and a warm one is kept however
long idle.  So:

- a recognizer that has served ``max_calls`` calls is retired at ``release``
  instead of going back (no recognizer grows for ever on a busy floor);
- ``refresh()``: once no call has taken or returned a recognizer for
  ``idle_seconds``, each idle recognizer that served calls is replaced by a
  freshly built and warmed one (built aside, one at a time, so calls never
  wait for it; it stops as soon as a call comes), and fresh ones are built up
  to ``warm``: a quiet floor is back to the pool of start-up, and its memory;
  a busy floor keeps its warm recognizers.  Off with ``refresh=False``.
- ``maintain()`` runs ``trim``, ``refresh`` and then ``release_memory``
  (the server's ``malloc_trim``) when anything was let go; the server runs it
  periodically in a background thread.  ``stats()`` counts retirements and
  refreshes.

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
MODEL_WARMUP_NAME = "warmup.wav"  # warm-up speech a model directory may carry, in the model's language
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
    max_calls: int = 50  # a recognizer that has served this many calls is retired, not kept
    refresh: bool = True  # quiet for ``idle_seconds``: kept recognizers that served calls are rebuilt

    def __post_init__(self) -> None:
        if not 0 <= self.warm <= self.max_idle:
            raise ValueError(f"pool warm must be between 0 and max_idle ({self.max_idle}), got {self.warm}")
        if self.idle_seconds <= 0:
            raise ValueError("pool idle_seconds must be positive")
        if self.max_calls < 1:
            raise ValueError("pool max_calls must be at least 1")


@dataclass(frozen=True, slots=True)
class PoolStats:
    idle: int
    in_use: int
    created: int  # recognizers built (warm-up, on demand, refreshes)
    reused: int  # calls served by a recognizer that served before
    dropped: int  # recognizers let go (trimmed, over max_idle, or failed)
    retired: int = 0  # let go after serving ``max_calls`` calls
    refreshed: int = 0  # replaced, on a quiet floor, by a freshly built and warmed one
    grown: int = 0  # idle recognizers that served calls since they were built (what a refresh replaces)
    maintaining: bool = False  # trim / refresh / memory release running now
    warm_hits: int = 0  # calls handed an idle (warm) recognizer instead of one built for them


@dataclass(frozen=True, slots=True)
class Maintenance:
    """What one ``maintain()`` did."""

    trimmed: int  # idle beyond ``warm`` for too long, dropped
    refreshed: int  # grown recognizers replaced by fresh warmed ones
    added: int  # fresh warmed ones added to bring the idle pool back up to ``warm``


@dataclass(slots=True)
class _Pooled:
    recognizer: ResettableRecognizer
    calls: int = 0  # calls served since it was built
    since: float = 0.0  # monotonic time it went idle
    dirty: bool = False  # served a call since its last reset


def load_warmup_audio(sample_rate: int, path: Path = WARMUP_WAV) -> bytes:
    """The warm-up speech as s16le mono at ``sample_rate`` (resampled from the file's rate).
    ``ValueError`` naming ``path`` when it is missing, not a WAV file, not 16-bit mono, or empty."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise ValueError(f"{path}: warm-up audio must be 16-bit mono")
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    except (OSError, EOFError, wave.Error) as exc:
        raise ValueError(f"{path}: not usable as warm-up audio ({exc})") from exc
    if samples.size < rate // 2:
        raise ValueError(f"{path}: warm-up audio is shorter than half a second")
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
        release_memory: Callable[[], None] | None = None,
    ) -> None:
        self.factory = factory
        self.config = config or PoolConfig()
        self.name = factory.name
        self.sample_rate = factory.sample_rate
        self._warm_audio = warm_audio
        self._clock = clock
        self._release_memory = release_memory  # malloc_trim after maintenance let recognizers go
        self._lock = threading.Lock()
        self._idle: list[_Pooled] = []  # most recently released last
        self._in_use: dict[int, _Pooled] = {}  # handed out, by id() (the entry keeps the object, so the id)
        self._created = self._reused = self._dropped = self._retired = self._refreshed = self._warm_hits = 0
        self._last_active = clock()  # last time a recognizer was handed out or taken back
        self._maintaining = False
        self._closed = threading.Event()

    @property
    def key(self) -> tuple[str, int]:
        """What the pooled recognizers are interchangeable for: one model at one sample rate."""
        return (self.name, self.sample_rate)

    # ------------------------------------------------------------ factory side

    def create(self) -> ResettableRecognizer:
        """A recognizer for a new call: a warm idle one (reset here) or a new one.  Blocking: call it
        from a decode thread (the reset may finish an utterance and a new recognizer loads its graph).
        Never waits for a warm-up: a refresh builds its recognizers aside and swaps them in."""
        with self._lock:
            self._last_active = self._clock()
            entry = self._idle.pop() if self._idle else None
            if entry is not None:
                self._in_use[id(entry.recognizer)] = entry
                self._warm_hits += 1
                if entry.calls:
                    self._reused += 1
                needs_reset, entry.dirty = entry.dirty, False
        if entry is None:
            recognizer = self.factory.create()
            with self._lock:
                self._created += 1
                self._in_use[id(recognizer)] = _Pooled(recognizer)
            return recognizer
        if needs_reset:
            try:
                entry.recognizer.reset()
            except Exception:
                log.exception("pooled recognizer failed to reset; building a new one")
                self._forget(entry.recognizer)
                return self.create()
        return entry.recognizer

    def release(self, recognizer: StreamRecognizer) -> None:
        """Take back a recognizer after its call (from any thread, without blocking: the reset happens
        when it is handed out again).  One the pool did not hand out is ignored; one that has served
        ``max_calls`` calls is retired, and one over ``max_idle`` dropped: the caller's last reference
        frees it, and the server's ``malloc_trim`` after every call hands its pages back."""
        with self._lock:
            entry = self._in_use.pop(id(recognizer), None)
            if entry is None:
                return
            now = self._clock()
            self._last_active = now
            entry.calls += 1
            entry.dirty = True
            if entry.calls >= self.config.max_calls:
                self._retired += 1
                return
            if len(self._idle) >= self.config.max_idle:
                self._dropped += 1
                return
            entry.since = now
            self._idle.append(entry)

    def discard(self, recognizer: StreamRecognizer) -> None:
        """A recognizer handed out that must not serve again (its call failed inside it)."""
        self._forget(recognizer)

    def _forget(self, recognizer: StreamRecognizer) -> None:
        with self._lock:
            if self._in_use.pop(id(recognizer), None) is not None:
                self._last_active = self._clock()
                self._dropped += 1

    # ------------------------------------------------------------ warm-up, trimming, refreshing

    def _build_warm(self) -> ResettableRecognizer | None:
        """A new recognizer with the warm-up audio decoded through it and reset; None if the pool closed."""
        recognizer = self.factory.create()
        if self._warm_audio:
            step = max(2, round(self.sample_rate * _BLOCK_S) * 2)
            for i in range(0, len(self._warm_audio), step):
                if self._closed.is_set():
                    return None
                recognizer.accept(self._warm_audio[i : i + step])
            recognizer.flush()
            recognizer.reset()
        return recognizer

    def warm_up(self, count: int | None = None) -> float:
        """Build ``count`` (default ``config.warm``) recognizers, decode the warm-up audio through each
        and leave them idle; returns the CPU seconds spent.  Blocking: run it in a thread."""
        wanted = self.config.warm if count is None else count
        began = time.thread_time()
        for _ in range(wanted):
            with self._lock:
                if len(self._idle) >= self.config.max_idle:
                    break
            recognizer = self._build_warm()
            if recognizer is None:
                break
            with self._lock:
                self._created += 1
                self._idle.insert(0, _Pooled(recognizer, since=self._clock()))
        return time.thread_time() - began

    def trim(self) -> int:
        """Drop recognizers idle for longer than ``idle_seconds``, keeping ``warm`` of them; returns how many.
        The least recently used go first.  Their memory goes back when the last reference does."""
        now = self._clock()
        with self._lock:
            dropped: list[_Pooled] = []
            while len(self._idle) > self.config.warm and now - self._idle[0].since > self.config.idle_seconds:
                dropped.append(self._idle.pop(0))
            self._dropped += len(dropped)
        count = len(dropped)
        dropped.clear()  # the recognizers are freed here, outside the lock
        return count

    def _quiet(self) -> bool:
        """No call holds a recognizer and none was handed out or taken back for ``idle_seconds`` (lock held)."""
        return not self._in_use and self._clock() - self._last_active >= self.config.idle_seconds

    def refresh(self) -> tuple[int, int]:
        """On a quiet floor, replace the idle recognizers that served calls (their graph caches grew with
        every call: about 65 MB after warm-up, 100-120 MB after several calls) by freshly built and warmed
        ones, and build fresh ones up to ``warm`` if fewer are idle; returns (replaced, added).

        One at a time, built aside: the idle ones keep serving meanwhile, so a call never waits for a
        warm-up.  Stops as soon as a call takes a recognizer (a busy floor keeps its warm ones) or the
        pool closes.  Blocking (seconds of CPU per recognizer): run it in a thread."""
        replaced = added = 0
        while not self._closed.is_set():
            with self._lock:
                if not self._quiet():
                    break
                if not any(e.calls for e in self._idle) and len(self._idle) >= self.config.warm:
                    break
            try:
                fresh = self._build_warm()
            except Exception:
                log.exception("building a fresh pooled recognizer failed; the pool keeps the ones it has")
                break
            if fresh is None:
                break
            old: _Pooled | None = None
            with self._lock:
                self._created += 1
                entry = _Pooled(fresh, since=self._clock())
                at = next((i for i, e in enumerate(self._idle) if e.calls), None)  # least recently used first
                if at is not None:
                    old, self._idle[at] = self._idle[at], entry
                    self._refreshed += 1
                    replaced += 1
                elif len(self._idle) < self.config.max_idle:
                    self._idle.insert(0, entry)
                    added += 1
                else:
                    self._dropped += 1
            del old, fresh, entry  # a replaced recognizer is freed here, outside the lock
        return replaced, added

    def maintain(self) -> Maintenance:
        """The periodic upkeep: ``trim``, then ``refresh`` (when configured), then hand the memory of the
        recognizers let go back to the OS.  Blocking: run it in a thread, never on the event loop."""
        with self._lock:
            self._maintaining = True
        try:
            trimmed = self.trim()
            replaced, added = self.refresh() if self.config.refresh else (0, 0)
            if (trimmed or replaced) and self._release_memory is not None:
                self._release_memory()
            return Maintenance(trimmed, replaced, added)
        finally:
            with self._lock:
                self._maintaining = False

    def close(self) -> None:
        """Stop any warm-up or refresh under way (within one 100 ms block of warm-up audio)."""
        self._closed.set()

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(len(self._idle), len(self._in_use), self._created, self._reused, self._dropped,
                             self._retired, self._refreshed, sum(1 for e in self._idle if e.calls),
                             self._maintaining, self._warm_hits)


def warmup_path(model_dir: Path, configured: Path | None = None) -> Path:
    """The warm-up speech for a model: ``configured`` (``ASSIST_POOL_WARMUP_AUDIO``), else
    ``warmup.wav`` in the model directory, else the shipped Mandarin speech."""
    if configured is not None:
        return configured
    beside = model_dir / MODEL_WARMUP_NAME
    return beside if beside.is_file() else WARMUP_WAV


def pool_for(
    factory: object, config: PoolConfig, release_memory: Callable[[], None] | None = None,
    warmup: Path | None = None,
) -> RecognizerPool | None:
    """A pool over ``factory`` when its recognizers can be reset (Vosk), warmed with the model's speech
    (``warmup_path``); raises ``ValueError`` naming the file when it is not usable warm-up speech.

    Other factories (scripted test doubles, ``--no-model``) are used as they are: None.
    """
    from assist.audio.recognizer import VoskModelFactory

    if not isinstance(factory, VoskModelFactory):
        return None
    audio = load_warmup_audio(factory.sample_rate, warmup_path(factory.model_dir, warmup))
    return RecognizerPool(factory, config, warm_audio=audio, release_memory=release_memory)
