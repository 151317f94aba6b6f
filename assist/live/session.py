"""One call's pipeline, free of any transport.

``CallSession`` owns: the ``FrameAssembler`` (bytes → int16 frames), one
``ChannelDecoder`` per role (all sharing one loaded model through the
``RecognizerFactory``), one worker task per role that consumes a bounded queue
of audio and decodes in the executor, and the turning of recognizer
hypotheses into ``Transcript`` events with utterance ids.

Events leave the session through *sinks* (plain callables that must not
block: the call socket's outbox, the hub, later the store) and through
*listeners* (the analysis engine), which see every transcript in order and
may answer with more events (prompts, call state) that go to the same sinks.

Two sources drive a session (``Start.source``): ``"audio"`` through
``feed_audio`` (decoded by the recognizers), or ``"transcript"``, already
timed text (training replays, testing without a model) pushed as transcript
events through ``push_transcript``.  Both reach the same sinks and listeners.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from assist.audio.channel import ChannelDecoder
from assist.audio.pcm import FrameAssembler
from assist.audio.pool import RecognizerPool
from assist.audio.recognizer import Hypothesis, RecognizerFactory
from assist.audio.vad import GateConfig
from assist.live.resumption import REPLAY_TOLERANCE, TAKEOVER_TOLERANCE, ResumePoint, RolePoint
from assist.protocol.enums import Emotion, EndReason, Role
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import (
    CallEnded,
    CallStarted,
    CallState,
    CallSummary,
    EmotionLevel,
    Event,
    Prompt,
    Ready,
    Start,
    Transcript,
    Word,
)

if TYPE_CHECKING:
    from assist.live.decode_gate import DecodeGate
    from assist.live.metrics import Metrics

log = logging.getLogger(__name__)

EventSink = Callable[[Event], None]
"""Receives every event of a session.  Must return quickly and never block (queue it)."""

Int16Array = npt.NDArray[np.int16]
MAX_ARRIVALS = 4000  # audio arrival times kept for the latency histogram (~400 s of 100 ms messages)


class TranscriptListener(Protocol):
    """Hook for the analysis pipeline (and anything else that reacts to speech).

    ``on_transcript`` is awaited for every transcript event, in order per role,
    from the role's worker task: a slow listener delays that role's decoding,
    so heavy work belongs in a thread (``asyncio.to_thread``).  The events it
    returns (prompts, call state, alerts) are sent to every sink.
    ``on_end`` is awaited once, after the last transcript of the call.
    """

    async def on_transcript(self, session: CallSession, transcript: Transcript) -> Sequence[Event]: ...

    async def on_end(self, session: CallSession, summary: CallSummary) -> Sequence[Event]: ...


@dataclass(frozen=True, slots=True)
class SessionConfig:
    audio_queue_chunks: int = 50
    max_coalesce_seconds: float = 1.0
    max_call_seconds: float = 4 * 3600.0
    gate: GateConfig | None = None


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
class _RoleState:
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


class CallSession:
    """The pipeline of one call.  Create, ``add_sink``/``add_listener``, ``await open()``,
    ``await feed_audio(...)`` as bytes arrive (or ``push_transcript`` for a transcript
    source), then ``await finish(reason)`` (idempotent; the first reason wins)."""

    def __init__(
        self,
        start: Start,
        factory: RecognizerFactory,
        executor: Executor,
        config: SessionConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        gate: DecodeGate | None = None,
        metrics: Metrics | None = None,
        resume: ResumePoint | None = None,
    ) -> None:
        """``gate``: decode slots shared with other calls (live calls first).  ``metrics``: where
        decode times, audio received and latencies go.  ``resume``: where an interrupted call
        stopped (utterance ids continue; speech already finalised is not delivered again)."""
        self.start = start
        self.factory = factory
        self.config = config or SessionConfig()
        self.started_at = clock()
        self._executor = executor
        self._gate = gate
        self._metrics = metrics
        self._resume = resume
        self._arrival_ends: list[float] = []  # call-audio time at the end of each message received ...
        self._arrival_times: list[float] = []  # ... and when it arrived (monotonic)
        self._end_emitted = False
        self._assembler = FrameAssembler(start.encoding, start.channels)
        self._offset = start.resume_from or 0.0
        self._sinks: list[EventSink] = []
        self._listeners: list[TranscriptListener] = []
        self._state_provider: Callable[[CallSession], CallState] | None = None
        self._transcript_filter: Callable[[Transcript], Transcript] | None = None
        self._final_committer: Callable[[Transcript], Awaitable[None]] | None = None
        self._opened = False  # CallStarted was emitted (the recognizers could be created)
        self._roles: list[_RoleState] = []
        self._frames = 0
        self._text_end = 0.0  # transcript source: end of the latest transcript
        self._audio_bytes = 0
        self._failure: BaseException | None = None
        self._summary: CallSummary | None = None
        self._finishing: asyncio.Task[CallSummary] | None = None
        self._max_coalesce = max(1, int(self.config.max_coalesce_seconds * start.sample_rate))

    # ------------------------------------------------------------ identity and state

    @property
    def call_id(self) -> str:
        return self.start.call_id

    @property
    def agent_id(self) -> str:
        return self.start.agent_id

    @property
    def roles(self) -> tuple[Role, ...]:
        return self.start.roles

    @property
    def active(self) -> bool:
        return self._summary is None

    @property
    def is_audio(self) -> bool:
        return self.start.source != "transcript"

    @property
    def live(self) -> bool:
        return self.start.mode == "live"

    @property
    def resumed(self) -> bool:
        """The call goes on from an earlier connection (``resume_from`` or a known call id)."""
        return self.start.resume_from is not None or self._resume is not None

    @property
    def resume(self) -> ResumePoint | None:
        """Where the earlier connection of a resumed call stopped (None: a new call)."""
        return self._resume

    def resume_point(self) -> ResumePoint:
        """Where this call stands now: what a later connection resuming it needs."""
        roles: dict[str, RolePoint] = {}
        for state in self._roles:
            earlier = self._resume.role(state.role) if self._resume is not None else RolePoint()
            point = state.last_final.merge(earlier)
            roles[state.role] = RolePoint(
                next_index=max(state.count, earlier.next_index),
                last_id=point.last_id,
                last_start=point.last_start,
                floor=point.floor,
            )
        return ResumePoint(self.agent_id, self.start.mode, roles)

    @property
    def duration(self) -> float:
        """Seconds of call audio received (after ``resume_from``); transcript source: up to the latest text."""
        if not self.is_audio:
            return max(self._text_end - self._offset, 0.0)
        return self._frames / self.start.sample_rate

    @property
    def summary(self) -> CallSummary | None:
        return self._summary

    def role_stats(self) -> dict[str, RoleStats]:
        """Per-role counters, with the decoders' current figures."""
        for state in self._roles:
            self._copy_stats(state)
        return {r.role: r.stats for r in self._roles}

    def set_state_provider(self, provider: Callable[[CallSession], CallState]) -> None:
        """Let the analysis pipeline answer ``state()`` (emotion, intent, referrals of the call)."""
        self._state_provider = provider

    def state(self) -> CallState:
        """The call as an overlay sees it (used for the ``subscribed`` snapshot)."""
        if self._state_provider is not None:
            return self._state_provider(self)
        return CallState(
            call_id=self.call_id,
            agent_id=self.agent_id,
            started_at=self.started_at,
            active=self.active,
            duration=self._offset + self.duration,
            emotion=EmotionLevel(Emotion.CALM, 0.0),
            intent=None,
            department=None,
            mode=self.start.mode,
        )

    # ------------------------------------------------------------ wiring

    def add_sink(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: EventSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def set_final_committer(self, fn: Callable[[Transcript], Awaitable[None]]) -> None:
        """Awaited with every final transcript (as recognised, before masking) before anyone sees it.

        The store commits the utterance here, so a final that reached a client is already on disk.
        """
        self._final_committer = fn

    def set_transcript_filter(self, fn: Callable[[Transcript], Transcript]) -> None:
        """Transform every transcript before any sink or listener sees it (personal-data masking)."""
        self._transcript_filter = fn

    def add_listener(self, listener: TranscriptListener) -> None:
        self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        """Send ``event`` to every sink; a failing sink is logged and does not stop the others."""
        for sink in tuple(self._sinks):
            try:
                sink(event)
            except Exception:
                log.exception("call %s: event sink %r failed", self.call_id, sink)

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> Ready:
        """Create one recognizer per role (off the loop) and start the workers (audio source)."""
        loop = asyncio.get_running_loop()
        for role in self.roles:
            decoder = await loop.run_in_executor(self._executor, self._make_decoder) if self.is_audio else None
            queue: asyncio.Queue[Int16Array | None] = asyncio.Queue(self.config.audio_queue_chunks)
            state = _RoleState(role, decoder, queue)
            if self._resume is not None:
                point = self._resume.role(role)
                state.count = point.next_index
                state.resume = point if point.floor >= 0 else None
            self._roles.append(state)
        for state in self._roles:
            if state.decoder is not None:
                name = f"decode {self.call_id}/{state.role}"
                state.task = asyncio.create_task(self._work(state, state.decoder), name=name)
        self._opened = True
        self.emit(CallStarted(self.call_id, self.agent_id, self.started_at, self.start.mode))
        return Ready(
            call_id=self.call_id,
            model=self.factory.name if self.is_audio else "transcript",
            model_sample_rate=self.factory.sample_rate if self.is_audio else self.start.sample_rate,
            roles=self.roles,
            resumed=self.resumed,
        )

    def _make_decoder(self) -> ChannelDecoder:
        return ChannelDecoder(self.factory.create(), self.start.sample_rate, gate=self.config.gate)

    async def feed_audio(self, data: bytes) -> None:
        """Add raw call audio (any split).  Waits while a role's queue is full (back-pressure).

        Raises ``ProtocolError`` when the call is over its maximum length or
        decoding has failed (``internal``).
        """
        if self._failure is not None:
            raise ProtocolError(ErrorCode.INTERNAL, "decoding failed; the call cannot go on")
        if not self.active or not self._roles:
            raise RuntimeError("feed_audio needs an open, unfinished session")
        if not self.is_audio:
            message = "this call's source is 'transcript': send 'line' messages, not audio"
            raise ProtocolError(ErrorCode.BAD_MESSAGE, message, fatal=False)
        self._audio_bytes += len(data)
        frames = self._assembler.push(data)
        if not len(frames):
            return
        self._frames += len(frames)
        self._arrived(self._offset + self.duration)
        if self.duration > self.config.max_call_seconds:
            raise ProtocolError(
                ErrorCode.CALL_TOO_LONG,
                f"the call is longer than the maximum of {self.config.max_call_seconds:g} s",
            )
        seconds = len(frames) / self.start.sample_rate
        for index, state in enumerate(self._roles):
            channel = np.ascontiguousarray(frames[:, index])
            state.stats.audio_in_s = self.duration
            if self._metrics is not None:
                self._metrics.audio_received(state.role, seconds)
            await state.queue.put(channel)

    def _arrived(self, audio_end: float) -> None:
        if self._metrics is None:
            return
        if len(self._arrival_ends) >= MAX_ARRIVALS:
            del self._arrival_ends[: MAX_ARRIVALS // 2]
            del self._arrival_times[: MAX_ARRIVALS // 2]
        self._arrival_ends.append(audio_end)
        self._arrival_times.append(time.monotonic())

    def _observe_latency(self, event: Transcript) -> None:
        """Transcript latency: from the audio that completed its newest word arriving to now."""
        if self._metrics is None or not self.is_audio or not event.text:
            return
        state = self._role(event.role)
        if event.end <= state.observed_end:
            return  # no new word: a final confirming what a partial showed
        state.observed_end = event.end
        i = bisect.bisect_left(self._arrival_ends, event.end - 1e-6)
        if i < len(self._arrival_times):
            self._metrics.transcript_latency(time.monotonic() - self._arrival_times[i])

    async def push_hypotheses(self, role: str, hypotheses: Sequence[Hypothesis]) -> None:
        """Turn recognizer results of ``role`` into transcript events with utterance ids."""
        state = self._role(role)
        for hyp in hypotheses:
            event = self._transcript(state, hyp)
            if event is not None:
                await self._deliver(event)

    async def push_transcript(self, transcript: Transcript) -> None:
        """Deliver a ready-made transcript event (transcript source: ids and times are the source's)."""
        if transcript.call_id != self.call_id:
            raise ValueError(f"transcript of call {transcript.call_id!r} pushed to call {self.call_id!r}")
        state = self._role(transcript.role)
        if transcript.final:
            if transcript.text:
                state.stats.finals += 1
                state.last_final = RolePoint(
                    last_id=transcript.utterance_id, last_start=transcript.start, floor=transcript.end
                )
            index = transcript.utterance_id.rpartition("-")[2]
            if index.isdigit():  # the source's ids are role-N: the next connection goes on after N
                state.count = max(state.count, int(index) + 1)
        else:
            state.stats.partials += 1
        self._text_end = max(self._text_end, transcript.end)
        await self._deliver(transcript)

    async def _deliver(self, event: Transcript) -> None:
        """To every sink, then to every listener, whose answers go to the sinks too."""
        if event.final and event.text and self._final_committer is not None:
            try:
                await self._final_committer(event)
            except Exception:
                log.exception("call %s: committing final %s failed", self.call_id, event.utterance_id)
        if self._transcript_filter is not None:
            event = self._transcript_filter(event)
        self._observe_latency(event)
        self.emit(event)
        queued = time.monotonic()
        for listener in tuple(self._listeners):
            try:
                extra = await listener.on_transcript(self, event)
            except Exception:
                log.exception("call %s: transcript listener %r failed", self.call_id, listener)
                continue
            for ev in extra:
                if self._metrics is not None and isinstance(ev, Prompt):
                    self._metrics.prompt_latency(time.monotonic() - queued)
                self.emit(ev)

    async def finish(self, reason: str) -> CallSummary:
        """Flush every role, emit the last finals and ``call_ended``; returns the summary.

        Safe to call more than once and from several tasks: the first reason wins.
        The flush runs in its own task so that cancelling the caller cannot lose
        transcripts.
        """
        if self._finishing is None:
            self._finishing = asyncio.create_task(self._finish(reason), name=f"finish {self.call_id}")
        return await asyncio.shield(self._finishing)

    async def _finish(self, reason: str) -> CallSummary:
        for state in self._roles:
            if state.task is not None and not state.task.done():
                await state.queue.put(None)
        tasks = [s.task for s in self._roles if s.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._failure is not None and reason == "completed":
            reason = "error"
        if self._assembler.pending_bytes:
            log.info("call %s: %d trailing byte(s) of an incomplete frame ignored",
                     self.call_id, self._assembler.pending_bytes)
        summary = self._summarise(reason)
        if self._end_emitted:  # abandon() already closed the call for subscribers and the store
            return self._summary or summary
        self._summary = summary
        if not self._opened:  # never started: nothing to close for subscribers, listeners or the store
            return summary
        for listener in tuple(self._listeners):
            try:
                for ev in await listener.on_end(self, summary):
                    self.emit(ev)
            except Exception:
                log.exception("call %s: listener %r failed at the end of the call", self.call_id, listener)
        self._summary = summary
        self._end_emitted = True
        self.emit(CallEnded(self.call_id, self.agent_id, summary))
        return summary

    def _summarise(self, reason: str) -> CallSummary:
        return CallSummary(
            duration=self.duration,
            utterances={s.role: s.stats.finals for s in self._roles},
            reason=EndReason(reason),
            audio_bytes=self._audio_bytes,
        )

    def close(self) -> None:
        """The call is over and accounted: let go of the recognizers and every hook now.

        Sinks and listeners are closures that refer back to the session, so a finished
        session sits in reference cycles until Python's cyclic collector runs, which may be
        minutes later.  The recognizers (over 100 MB of Kaldi memory per call) must not wait
        for that: they are dropped here.
        """
        for state in self._roles:
            self._copy_stats(state)
            # a pooled recognizer goes back for the next call, unless its worker may still use it or failed
            if isinstance(self.factory, RecognizerPool) and state.decoder is not None:
                done = state.task is not None and state.task.done() and self._failure is None
                (self.factory.release if done else self.factory.discard)(state.decoder.recognizer)
            state.decoder = None
        self._sinks.clear()
        self._listeners.clear()
        self._state_provider = None
        self._transcript_filter = None
        self._final_committer = None

    def abandon(self, reason: str) -> CallSummary | None:
        """Out of time (server shutdown): end the call now for subscribers and the store.

        The transcripts delivered so far stay; a flush still running may add more
        finals, but ``call_ended`` is not sent again.  None if the call already ended.
        """
        if self._end_emitted or not self._opened:
            return None
        summary = self._summarise(reason)
        self._summary = summary
        self._end_emitted = True
        self.emit(CallEnded(self.call_id, self.agent_id, summary))
        return summary

    # ------------------------------------------------------------ workers

    def _role(self, role: str) -> _RoleState:
        for state in self._roles:
            if state.role == role:
                return state
        raise ValueError(f"call {self.call_id} has no role {role!r}")

    async def _work(self, state: _RoleState, decoder: ChannelDecoder) -> None:
        """Decode this role's queued audio, coalescing what piled up, until the end marker."""
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            chunk = await state.queue.get()
            if chunk is None:
                break
            parts = [chunk]
            size = len(chunk)
            while size < self._max_coalesce and not state.queue.empty():
                more = state.queue.get_nowait()
                if more is None:
                    done = True
                    break
                parts.append(more)
                size += len(more)
            if self._failure is not None:
                continue  # drain without decoding so the reader is never stuck
            audio = parts[0] if len(parts) == 1 else np.concatenate(parts)
            try:
                async with self._slot():
                    began = time.perf_counter()
                    hyps = await loop.run_in_executor(self._executor, decoder.feed, audio)
                    took = time.perf_counter() - began
            except Exception as exc:
                self._fail(state, exc)
                continue
            if self._metrics is not None:
                self._metrics.decoded(len(audio) / self.start.sample_rate, took)
            state.stats.decode_calls += 1
            await self.push_hypotheses(state.role, hyps)
        if self._failure is None:
            try:
                async with self._slot():
                    hyps = await loop.run_in_executor(self._executor, decoder.finish)
            except Exception as exc:
                self._fail(state, exc)
            else:
                await self.push_hypotheses(state.role, hyps)
        if state.open_id is not None:  # partials shown but no words left: close the utterance, empty
            end = self._offset + self.duration
            await self.push_hypotheses(state.role, [Hypothesis(True, "", end, end)])
        self._copy_stats(state)

    def _slot(self) -> AbstractAsyncContextManager[None]:
        """A decode slot: live calls go first, training replays get a share (``DecodeGate``)."""
        if self._gate is None:
            return contextlib.nullcontext()
        return self._gate.slot(live=self.live)

    def _fail(self, state: _RoleState, exc: BaseException) -> None:
        log.error("call %s: decoding %s failed: %r", self.call_id, state.role, exc, exc_info=exc)
        self._failure = exc

    def _copy_stats(self, state: _RoleState) -> None:
        if state.decoder is None:
            return
        stats = state.decoder.stats
        state.stats.audio_decoded_s = stats.audio_decoded_s
        state.stats.decode_cpu_s = stats.decode_cpu_s
        state.stats.segments = stats.segments

    def _replayed(self, state: _RoleState, hyp: Hypothesis) -> bool:
        """Resumed call: is ``hyp`` speech the earlier connection already finalised?

        Until the first transcript that ends past the role's last stored final:
        those ending by then are replays (dropped); the first one past it that
        starts where the last final started takes over its id (the final the
        old session cut short, now complete).
        """
        point = state.resume
        if point is None or state.open_id is not None:
            return False
        if hyp.end + self._offset <= point.floor + REPLAY_TOLERANCE:
            state.stats.replayed += 1
            if hyp.final:
                state.last_partial = None
            return True
        state.resume = None
        if point.last_id is not None and hyp.start + self._offset <= point.last_start + TAKEOVER_TOLERANCE:
            state.open_id = point.last_id
        return False

    def _transcript(self, state: _RoleState, hyp: Hypothesis) -> Transcript | None:
        """Assign the utterance id; drop empty and repeated partials (and replays of a resumed call)."""
        text = hyp.text.strip()
        if (text or state.open_id is not None) and self._replayed(state, hyp):
            return None
        if not hyp.final:
            if not text or text == state.last_partial:
                return None
            state.last_partial = text
            final = False
            words: tuple[Word, ...] = ()
        else:
            if not text and state.open_id is None:
                return None
            final = True
            words = tuple(
                Word(w.word, w.start + self._offset, w.end + self._offset, w.conf) for w in hyp.words
            )
        if state.open_id is None:
            state.open_id = f"{state.role}-{state.count}"
            state.count += 1
        event = Transcript(
            call_id=self.call_id,
            role=state.role,
            utterance_id=state.open_id,
            final=final,
            text=text,
            start=hyp.start + self._offset,
            end=hyp.end + self._offset,
            words=words,
        )
        if final:
            state.open_id = None
            state.last_partial = None
            if text:
                state.stats.finals += 1
                state.last_final = RolePoint(
                    last_id=event.utterance_id, last_start=event.start, floor=event.end
                )
        else:
            state.stats.partials += 1
        return event


class CallRegistry:
    """The live sessions of one server, by call id (no globals: the server owns one)."""

    def __init__(self, max_calls: int) -> None:
        self.max_calls = max_calls
        self._sessions: dict[str, CallSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._sessions

    def register(self, session: CallSession) -> None:
        """Claim the call id; raises ``call_in_progress`` or ``too_many_calls``."""
        if session.call_id in self._sessions:
            raise ProtocolError(
                ErrorCode.CALL_IN_PROGRESS,
                f"call {session.call_id!r} is already being streamed on another connection",
            )
        if len(self._sessions) >= self.max_calls:
            raise ProtocolError(
                ErrorCode.TOO_MANY_CALLS,
                f"the server is handling its maximum of {self.max_calls} calls; try again later",
            )
        self._sessions[session.call_id] = session

    def unregister(self, session: CallSession) -> None:
        if self._sessions.get(session.call_id) is session:
            del self._sessions[session.call_id]

    def get(self, call_id: str) -> CallSession | None:
        return self._sessions.get(call_id)

    def for_agent(self, agent_id: str) -> CallSession | None:
        """The agent's most recent live call."""
        found = [s for s in self._sessions.values() if s.agent_id == agent_id]
        return max(found, key=lambda s: s.started_at) if found else None

    def sessions(self) -> list[CallSession]:
        return list(self._sessions.values())
