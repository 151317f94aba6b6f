"""Where a call's events go: the sinks, the transcript listeners and the two transcript hooks.

Events leave a session through *sinks* (plain callables that must not block: the call socket's
outbox, the hub, the store) and through *listeners* (the analysis engine), which see every
transcript in order and may answer with more events (prompts, call state) that go to the same
sinks.  Before anyone sees a final, the *final committer* (the store) has it on disk; every
transcript passes the *transcript filter* (personal-number masking) first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from assist.protocol.events import CallSummary, Event, Prompt, Transcript

if TYPE_CHECKING:
    from assist.live.metrics import Metrics

log = logging.getLogger(__name__)

EventSink = Callable[[Event], None]
"""Receives every event of a session.  Must return quickly and never block (queue it)."""

# The session the listeners are told about (``assist.live.session.CallSession``); a parameter, so that
# this module, which the session is built on, does not import it.
S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)


class TranscriptListener(Protocol[S_contra]):
    """Hook for the analysis pipeline (and anything else that reacts to speech).

    ``on_transcript`` is awaited for every transcript event, in order per role,
    from the role's worker task: a slow listener delays that role's decoding,
    so heavy work belongs in a thread (``asyncio.to_thread``).  The events it
    returns (prompts, call state, alerts) are sent to every sink.
    ``on_end`` is awaited once, after the last transcript of the call.
    """

    async def on_transcript(self, session: S_contra, transcript: Transcript) -> Sequence[Event]: ...

    async def on_end(self, session: S_contra, summary: CallSummary) -> Sequence[Event]: ...


class EventDelivery(Generic[S]):
    """The sinks, listeners and hooks of one call (of session type ``S``)."""

    def __init__(self, call_id: str, metrics: Metrics | None) -> None:
        self.call_id = call_id
        self.sinks: list[EventSink] = []
        self.listeners: list[TranscriptListener[S]] = []
        self.transcript_filter: Callable[[Transcript], Transcript] | None = None
        self.final_committer: Callable[[Transcript], Awaitable[None]] | None = None
        self._metrics = metrics

    def remove_sink(self, sink: EventSink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def clear(self) -> None:
        """Drop every hook (they are closures referring back to the session)."""
        self.sinks.clear()
        self.listeners.clear()
        self.transcript_filter = None
        self.final_committer = None

    def emit(self, event: Event) -> None:
        """Send ``event`` to every sink; a failing sink is logged and does not stop the others."""
        for sink in tuple(self.sinks):
            try:
                sink(event)
            except Exception:
                log.exception("call %s: event sink %r failed", self.call_id, sink)

    async def deliver(self, session: S, event: Transcript,
                      observe: Callable[[Transcript], None]) -> None:
        """Commit a final, filter, ``observe`` (latency), then to every sink, then to every listener,
        whose answers go to the sinks too."""
        if event.final and event.text and self.final_committer is not None:
            try:
                await self.final_committer(event)
            except Exception:
                log.exception("call %s: committing final %s failed", self.call_id, event.utterance_id)
        if self.transcript_filter is not None:
            event = self.transcript_filter(event)
        observe(event)
        self.emit(event)
        queued = time.monotonic()
        for listener in tuple(self.listeners):
            try:
                extra = await listener.on_transcript(session, event)
            except Exception:
                log.exception("call %s: transcript listener %r failed", self.call_id, listener)
                continue
            for ev in extra:
                if self._metrics is not None and isinstance(ev, Prompt):
                    self._metrics.prompt_latency(time.monotonic() - queued)
                self.emit(ev)

    async def end(self, session: S, summary: CallSummary) -> None:
        """Let every listener answer the end of the call; its answers go to the sinks."""
        for listener in tuple(self.listeners):
            try:
                for ev in await listener.on_end(session, summary):
                    self.emit(ev)
            except Exception:
                log.exception("call %s: listener %r failed at the end of the call", self.call_id, listener)
