"""Server-wide wiring of the per-call pipeline: redaction, live assist, alerts, the store.

``AssistPipeline.attach`` is the session hook the server runs for every new
call.  It makes each session

1. mask personal numbers in every transcript before any sink or listener sees it
   (the call socket, overlays and dashboards, the analysis engine, the store);
2. analyse its transcripts with ``LiveAssist`` (prompts, call state, alerts), when ``listener.py`` says;
3. write calls, final utterances, prompts, alerts and acknowledgements to the store.

``alerts.AlertBook`` keeps the floor's recent alerts for dashboards that connect late.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from assist.live.alerts import AlertBook
from assist.live.engine import TextAnalyzer
from assist.live.listener import CallListener, LearnedCounts
from assist.live.prompts import LiveAssist
from assist.live.stable import STABLE_PARTIAL
from assist.protocol.events import AlertAcknowledged, CallState, Event, Transcript
from assist.store.privacy import Redactor

if TYPE_CHECKING:
    from assist.live.hub import Hub
    from assist.live.session import CallSession
    from assist.store.base import CallStore as Store  # either backend (assist.store.open)

log = logging.getLogger(__name__)

COMMIT_WAIT = 1.0  # s a final waits for its commit before it is delivered regardless


def redact_transcript(redactor: Redactor, t: Transcript) -> Transcript:
    """The transcript with ID-card, mobile and bank-card numbers masked in its text and words; in a
    partial also every digit run that could still grow into one (``Redactor.mask_partial``)."""
    text = redactor.mask_text(t.text) if t.final else redactor.mask_partial(t.text)
    if not t.words:
        return t if text == t.text else dataclasses.replace(t, text=text)
    plain = [w.word for w in t.words]
    masked = redactor.redact_words(plain) if t.final else redactor.mask_partial_words(plain)
    if text == t.text and all(m == w.word for m, w in zip(masked, t.words, strict=True)):
        return t
    words = tuple(
        w if m == w.word else dataclasses.replace(w, word=m) for m, w in zip(masked, t.words, strict=True)
    )
    return dataclasses.replace(t, text=text, words=words)


class AssistPipeline:
    """What the server adds to every call beyond transcription."""

    def __init__(
        self,
        *,
        analyzer: TextAnalyzer | None,
        redactor: Redactor,
        store: Store | None = None,
        context_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
        stable_partial: float = STABLE_PARTIAL,
    ) -> None:
        self.analyzer = analyzer
        self.stable_partial = stable_partial  # s a partial stays the same before the learned path runs on it
        self.redactor = redactor
        self.store = store
        self.alerts = AlertBook()
        self._context_factory = context_factory
        self._clock = clock
        self._live: dict[str, LiveAssist] = {}
        self.store_failures = 0
        self.learned = LearnedCounts()  # the learned path's runs over every call (``/stats``)
        # one thread: analyses never run on the event loop, and calls take turns instead of piling up
        self.analysis_executor = ThreadPoolExecutor(1, thread_name_prefix="analysis")

    def attach(self, session: CallSession) -> None:
        """Session hook: redaction, live assist and storage for one call."""
        store = self.store
        session.set_transcript_filter(lambda t: redact_transcript(self.redactor, t))
        if self.analyzer is not None:
            live = LiveAssist(
                session.call_id,
                session.agent_id,
                self.analyzer,
                mode=session.start.mode,
                context_factory=self._context_factory,
                clock=self._clock,
            )
            self._live[session.call_id] = live
            listener = CallListener(live, self.alerts, self.analysis_executor, self.stable_partial, self.learned)
            session.add_listener(listener)
            session.set_state_provider(lambda s: _with_activity(listener.state(s.active), s))
        if store is not None:

            async def commit(t: Transcript) -> None:
                # before anyone sees the final: the store masks it (and keeps the original only if told to)
                future = self._store(store, t)
                if future is not None:
                    try:
                        await asyncio.wait_for(asyncio.shield(future), COMMIT_WAIT)
                    except TimeoutError:
                        log.warning("call %s: final %s not committed within %.0f s; delivered anyway",
                                    t.call_id, t.utterance_id, COMMIT_WAIT)

            def to_store(event: Event) -> None:
                if not isinstance(event, Transcript):  # finals are committed above; partials are not kept
                    self._store(store, event)

            session.set_final_committer(commit)
            session.add_sink(to_store)

    def detach(self, call_id: str) -> None:
        """The call is over: forget its live state (its alerts stay in the book)."""
        self._live.pop(call_id, None)

    def _store(self, store: Store, event: Event) -> asyncio.Future[Any] | None:
        from assist.store.db import StoreBusy

        try:
            return store.record(event)
        except StoreBusy:
            self.store_failures += 1
            log.error("store queue full: %s of call %s not stored", event.type, getattr(event, "call_id", "?"))
            return None

    async def acknowledge(self, alert_id: str, by: str, hub: Hub, note: str = "") -> AlertAcknowledged | None:
        """A supervisor acknowledged an alert (with a short note): record it and tell every
        subscriber of that call."""
        at = self._clock()
        alert = self.alerts.acknowledge(alert_id, by, at, note)
        if alert is None:
            return None
        live = self._live.get(alert.call_id)
        if live is not None:
            live.acknowledge(alert_id, alert.acknowledged_by or by, alert.acknowledged_at or at)
        event = AlertAcknowledged(
            alert_id=alert_id,
            call_id=alert.call_id,
            by=alert.acknowledged_by or by,
            at=alert.acknowledged_at or at,
            note=alert.ack_note,
        )
        if self.store is not None:
            self._store(self.store, event)
        hub.publish(event, call_id=alert.call_id, agent_id=alert.agent_id)
        return event


def _with_activity(state: CallState, session: CallSession) -> CallState:
    """Live assist knows the audio time of the last transcript; the session knows the audio received."""
    duration = max(state.duration, session.duration)
    return state if duration == state.duration else dataclasses.replace(state, duration=duration)
