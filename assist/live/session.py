"""One call's pipeline, free of any transport.

``CallSession`` owns: the ``AudioIntake`` (bytes → int16 frames, ``intake.py``), one
``ChannelDecoder`` per role (all sharing one loaded model through the
``RecognizerFactory``), one worker task per role that consumes a bounded queue
of audio and decodes in the executor, and the turning of recognizer
hypotheses into ``Transcript`` events with utterance ids.

Events leave the session through sinks and listeners (``assist.live.delivery``).

Two sources drive a session (``Start.source``): ``"audio"`` through
``feed_audio`` (decoded by the recognizers), or ``"transcript"``, already
timed text (training replays, testing without a model) pushed as transcript
events through ``push_transcript``.  Both reach the same sinks and listeners.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assist.audio.channel import ChannelDecoder
from assist.audio.pool import RecognizerPool
from assist.audio.recognizer import Hypothesis, RecognizerFactory
from assist.audio.vad import GateConfig
from assist.live.decode_worker import DecodeContext, decode_role
from assist.live.delivery import EventDelivery, EventSink, TranscriptListener
from assist.live.intake import AudioIntake
from assist.live.lockstep import decode_roles_in_step
from assist.live.resumption import ResumePoint
from assist.live.roles import Int16Array, RoleState, RoleStats
from assist.protocol.enums import Emotion, EndReason, Role
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import (
    CallEnded,
    CallStarted,
    CallState,
    CallSummary,
    EmotionLevel,
    Event,
    Ready,
    Start,
    Transcript,
)

if TYPE_CHECKING:
    from assist.live.decode_gate import DecodeGate
    from assist.live.metrics import Metrics

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class SessionConfig:
    audio_queue_chunks: int = 50
    max_coalesce_seconds: float = 1.0
    max_call_seconds: float = 4 * 3600.0
    gate: GateConfig | None = None


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
        self._metrics = metrics
        self._resume = resume
        self._end_emitted = False
        self._intake = AudioIntake(start, metrics)
        self._offset = start.resume_from or 0.0
        self._out: EventDelivery[CallSession] = EventDelivery(start.call_id, metrics)
        self._state_provider: Callable[[CallSession], CallState] | None = None
        self._opened = False  # CallStarted was emitted (the recognizers could be created)
        self._roles: list[RoleState] = []
        self._text_end = 0.0  # transcript source: end of the latest transcript
        self._summary: CallSummary | None = None
        self._finishing: asyncio.Task[CallSummary] | None = None
        self._decoding = DecodeContext(
            call_id=start.call_id,
            sample_rate=start.sample_rate,
            live=start.mode == "live",
            executor=executor,
            max_coalesce=max(1, int(self.config.max_coalesce_seconds * start.sample_rate)),
            push=self.push_hypotheses,
            call_end=lambda: self._offset + self.duration,
            gate=gate,
            metrics=metrics,
        )

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
        return ResumePoint(self.agent_id, self.start.mode, {s.role: s.point(self._resume) for s in self._roles})

    @property
    def duration(self) -> float:
        """Seconds of call audio received (after ``resume_from``); transcript source: up to the latest text."""
        if not self.is_audio:
            return max(self._text_end - self._offset, 0.0)
        return self._intake.seconds

    @property
    def summary(self) -> CallSummary | None:
        return self._summary

    def role_stats(self) -> dict[str, RoleStats]:
        """Per-role counters, with the decoders' current figures."""
        for state in self._roles:
            state.copy_stats()
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
        self._out.sinks.append(sink)

    def remove_sink(self, sink: EventSink) -> None:
        self._out.remove_sink(sink)

    def set_final_committer(self, fn: Callable[[Transcript], Awaitable[None]]) -> None:
        """Awaited with every final transcript (as recognised, before masking) before anyone sees it.

        The store commits the utterance here, so a final that reached a client is already on disk.
        """
        self._out.final_committer = fn

    def set_transcript_filter(self, fn: Callable[[Transcript], Transcript]) -> None:
        """Transform every transcript before any sink or listener sees it (personal-data masking)."""
        self._out.transcript_filter = fn

    def add_listener(self, listener: TranscriptListener[CallSession]) -> None:
        self._out.listeners.append(listener)

    def emit(self, event: Event) -> None:
        """Send ``event`` to every sink; a failing sink is logged and does not stop the others."""
        self._out.emit(event)

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> Ready:
        """Create one recognizer per role (off the loop) and start the workers (audio source)."""
        loop = asyncio.get_running_loop()
        for role in self.roles:
            decoder = await loop.run_in_executor(self._executor, self._make_decoder) if self.is_audio else None
            queue: asyncio.Queue[Int16Array | None] = asyncio.Queue(self.config.audio_queue_chunks)
            state = RoleState(role, decoder, queue)
            if self._resume is not None:
                point = self._resume.role(role)
                state.count = point.next_index
                state.resume = point if point.floor >= 0 else None
            self._roles.append(state)
        decoding = [s for s in self._roles if s.decoder is not None]
        if not self.live and len(decoding) > 1:  # a training replay: one order of results (assist.live.lockstep)
            task = asyncio.create_task(decode_roles_in_step(self._decoding, decoding), name=f"decode {self.call_id}")
            for state in decoding:
                state.task = task
        for state in decoding:
            if state.task is None and state.decoder is not None:
                name = f"decode {self.call_id}/{state.role}"
                state.task = asyncio.create_task(decode_role(self._decoding, state, state.decoder), name=name)
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
        if self._decoding.failure is not None:
            raise ProtocolError(ErrorCode.INTERNAL, "decoding failed; the call cannot go on")
        if not self.active or not self._roles:
            raise RuntimeError("feed_audio needs an open, unfinished session")
        if not self.is_audio:
            message = "this call's source is 'transcript': send 'line' messages, not audio"
            raise ProtocolError(ErrorCode.BAD_MESSAGE, message, fatal=False)
        frames = self._intake.take(data, self._offset)
        if not len(frames):
            return
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

    def _observe_latency(self, event: Transcript) -> None:
        if self._intake.measuring and self.is_audio and event.text:
            self._intake.observe_latency(self._role(event.role), event)

    async def push_hypotheses(self, role: str, hypotheses: Sequence[Hypothesis]) -> None:
        """Turn recognizer results of ``role`` into transcript events with utterance ids."""
        state = self._role(role)
        for hyp in hypotheses:
            event = state.transcript(hyp, self.call_id, self._offset)
            if event is not None:
                await self._deliver(event)

    async def push_transcript(self, transcript: Transcript) -> None:
        """Deliver a ready-made transcript event (transcript source: ids and times are the source's)."""
        if transcript.call_id != self.call_id:
            raise ValueError(f"transcript of call {transcript.call_id!r} pushed to call {self.call_id!r}")
        self._role(transcript.role).count_pushed(transcript)
        self._text_end = max(self._text_end, transcript.end)
        await self._deliver(transcript)

    async def _deliver(self, event: Transcript) -> None:
        await self._out.deliver(self, event, self._observe_latency)

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
        if self._decoding.failure is not None and reason == "completed":
            reason = "error"
        if self._intake.pending_bytes:
            log.info("call %s: %d trailing byte(s) of an incomplete frame ignored",
                     self.call_id, self._intake.pending_bytes)
        summary = self._summarise(reason)
        if self._end_emitted:  # abandon() already closed the call for subscribers and the store
            return self._summary or summary
        self._summary = summary
        if not self._opened:  # never started: nothing to close for subscribers, listeners or the store
            return summary
        await self._out.end(self, summary)
        self._summary = summary
        self._end_emitted = True
        self.emit(CallEnded(self.call_id, self.agent_id, summary))
        return summary

    def _summarise(self, reason: str) -> CallSummary:
        return CallSummary(
            duration=self.duration,
            utterances={s.role: s.stats.finals for s in self._roles},
            reason=EndReason(reason),
            audio_bytes=self._intake.audio_bytes,
        )

    def close(self) -> None:
        """The call is over and accounted: let go of the recognizers and every hook now.

        Sinks and listeners are closures that refer back to the session, so a finished
        session sits in reference cycles until Python's cyclic collector runs, which may be
        minutes later.  The recognizers (over 100 MB of Kaldi memory per call) must not wait
        for that: they are dropped here.
        """
        for state in self._roles:
            state.copy_stats()
            # a pooled recognizer goes back for the next call, unless its worker may still use it or failed
            if isinstance(self.factory, RecognizerPool) and state.decoder is not None:
                done = state.task is not None and state.task.done() and self._decoding.failure is None
                (self.factory.release if done else self.factory.discard)(state.decoder.recognizer)
            state.decoder = None
        self._out.clear()
        self._state_provider = None

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

    def _role(self, role: str) -> RoleState:
        for state in self._roles:
            if state.role == role:
                return state
        raise ValueError(f"call {self.call_id} has no role {role!r}")
