"""Server-wide wiring of the per-call pipeline: redaction, live assist, alerts, the store.

``AssistPipeline.attach`` is the session hook the server runs for every new
call.  It makes each session

1. mask personal numbers in every transcript before any sink or listener sees it
   (the call socket, overlays and dashboards, the analysis engine, the store);
2. analyse every transcript with ``LiveAssist`` (prompts, call state, alerts);
3. write calls, final utterances, prompts, alerts and acknowledgements to the store.

``AlertBook`` keeps the alerts supervisors have not acknowledged yet, so a
dashboard that connects late still sees them and an acknowledgement reaches
every supervisor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from assist.events import Alert, AlertAcknowledged, CallState, CallSummary, Event, Transcript
from assist.live import LiveAssist, TextAnalyzer
from assist.privacy import Redactor

if TYPE_CHECKING:
    from assist.hub import Hub
    from assist.session import CallSession
    from assist.store import Store

log = logging.getLogger(__name__)

COMMIT_WAIT = 1.0  # s a final waits for its commit before it is delivered regardless
MAX_ALERTS = 500  # alerts remembered for late-joining dashboards (oldest forgotten first)


class AlertBook:
    """Recent alerts of all calls, with their acknowledgement state."""

    def __init__(self, max_alerts: int = MAX_ALERTS) -> None:
        self._alerts: OrderedDict[str, Alert] = OrderedDict()
        self._max = max_alerts

    def add(self, alert: Alert) -> None:
        self._alerts[alert.alert_id] = alert
        while len(self._alerts) > self._max:
            self._alerts.popitem(last=False)

    def get(self, alert_id: str) -> Alert | None:
        return self._alerts.get(alert_id)

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert | None:
        """Mark an alert acknowledged; the first acknowledgement wins.  None if unknown."""
        alert = self._alerts.get(alert_id)
        if alert is None:
            return None
        if alert.acknowledged_by is None:
            alert = dataclasses.replace(alert, acknowledged_by=by, acknowledged_at=at)
            self._alerts[alert_id] = alert
        return alert

    def recent(self, call_ids: Sequence[str] | None = None) -> tuple[Alert, ...]:
        """Alerts, oldest first; only those of ``call_ids`` when given."""
        wanted = None if call_ids is None else set(call_ids)
        return tuple(a for a in self._alerts.values() if wanted is None or a.call_id in wanted)


class _Listener:
    """Adapts one call's ``LiveAssist`` to the session's listener hook."""

    def __init__(self, live: LiveAssist, alerts: AlertBook) -> None:
        self.live = live
        self.alerts = alerts
        # one call's transcripts are analysed in arrival order, also while a final's learned
        # path runs in a worker thread (the call context must see them in order)
        self._order = asyncio.Lock()

    async def on_transcript(self, session: CallSession, transcript: Transcript) -> Sequence[Event]:
        async with self._order:
            refinement = None
            # the learned path (encoder ~20 ms) on caller finals only, off the event loop
            if transcript.final and transcript.role != "agent":
                refinement = await asyncio.to_thread(self.live.learned_for_final, transcript)
            events = self.live.on_transcript(transcript, refinement)
        for ev in events:
            if isinstance(ev, Alert):
                self.alerts.add(ev)
        return events

    async def on_end(self, session: CallSession, summary: CallSummary) -> Sequence[Event]:
        return [self.live.state(active=False)]


def redact_transcript(redactor: Redactor, t: Transcript) -> Transcript:
    """The transcript with ID-card, mobile and bank-card numbers masked in its text and words."""
    text = redactor.mask_text(t.text)
    if not t.words:
        return t if text == t.text else dataclasses.replace(t, text=text)
    masked = redactor.redact_words([w.word for w in t.words])
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
    ) -> None:
        self.analyzer = analyzer
        self.redactor = redactor
        self.store = store
        self.alerts = AlertBook()
        self._context_factory = context_factory
        self._clock = clock
        self._live: dict[str, LiveAssist] = {}
        self.store_failures = 0

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
            session.add_listener(_Listener(live, self.alerts))
            session.set_state_provider(lambda s: _with_activity(live.state(active=s.active), s))
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
        from assist.store import StoreBusy

        try:
            return store.record(event)
        except StoreBusy:
            self.store_failures += 1
            log.error("store queue full: %s of call %s not stored", event.type, getattr(event, "call_id", "?"))
            return None

    async def acknowledge(self, alert_id: str, by: str, hub: Hub) -> AlertAcknowledged | None:
        """A supervisor acknowledged an alert: record it and tell every subscriber of that call."""
        at = self._clock()
        alert = self.alerts.acknowledge(alert_id, by, at)
        if alert is None:
            return None
        live = self._live.get(alert.call_id)
        if live is not None:
            live.acknowledge(alert_id, alert.acknowledged_by or by, alert.acknowledged_at or at)
        event = AlertAcknowledged(
            alert_id=alert_id, call_id=alert.call_id, by=alert.acknowledged_by or by, at=alert.acknowledged_at or at
        )
        if self.store is not None:
            self._store(self.store, event)
        hub.publish(event, call_id=alert.call_id, agent_id=alert.agent_id)
        return event


def _with_activity(state: CallState, session: CallSession) -> CallState:
    """Live assist knows the audio time of the last transcript; the session knows the audio received."""
    duration = max(state.duration, session.duration)
    return state if duration == state.duration else dataclasses.replace(state, duration=duration)
