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
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from assist.live.engine import TextAnalyzer
from assist.live.prompts import LiveAssist
from assist.protocol.events import Alert, AlertAcknowledged, CallState, CallSummary, Event, Transcript
from assist.store.privacy import Redactor

if TYPE_CHECKING:
    from assist.live.hub import Hub
    from assist.live.session import CallSession
    from assist.store.base import CallStore as Store  # either backend (assist.store.open)

log = logging.getLogger(__name__)

PARTIAL_MIN_GROWTH = 1  # characters a partial must add before it is analysed again (see _Listener)
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

    def acknowledge(self, alert_id: str, by: str, at: float, note: str = "") -> Alert | None:
        """Mark an alert acknowledged; the first acknowledgement wins.  None if unknown."""
        alert = self._alerts.get(alert_id)
        if alert is None:
            return None
        if alert.acknowledged_by is None:
            alert = dataclasses.replace(alert, acknowledged_by=by, acknowledged_at=at, ack_note=note)
            self._alerts[alert_id] = alert
        return alert

    def recent(self, call_ids: Sequence[str] | None = None) -> tuple[Alert, ...]:
        """Alerts, oldest first; only those of ``call_ids`` when given."""
        wanted = None if call_ids is None else set(call_ids)
        return tuple(a for a in self._alerts.values() if wanted is None or a.call_id in wanted)


class _Listener:
    """Adapts one call's ``LiveAssist`` to the session's listener hook, at a bounded cost.

    Analysis runs on the pipeline's analysis thread, never on the event loop.  A
    partial is analysed only when it has grown by a quarter since the last
    analysed partial of its utterance (at least ``PARTIAL_MIN_GROWTH`` characters),
    so the analyses of one utterance add up to a few times its length instead
    of its length squared; every final is analysed.  The lock keeps the loop's
    reads of the call state apart from an analysis under way.
    """

    def __init__(self, live: LiveAssist, alerts: AlertBook, executor: Executor) -> None:
        self.live = live
        self.alerts = alerts
        self._executor = executor
        self._lock = threading.Lock()
        self._analysed: dict[str, int] = {}  # utterance id -> length of its last analysed partial

    def _due(self, t: Transcript) -> bool:
        if t.final:
            self._analysed.pop(t.utterance_id, None)
            return True
        last = self._analysed.get(t.utterance_id, 0)
        if len(t.text) - last < max(PARTIAL_MIN_GROWTH, last // 4):
            return False
        self._analysed[t.utterance_id] = len(t.text)
        return True

    def _analyse(self, t: Transcript) -> list[Event]:
        """In the analysis thread: the learned path (sentence encoder) on caller finals, then the rules.
        The learned path needs no call state, so the lock (which the loop's state reads take) is held
        only for the rules."""
        refinement = self.live.learned_for_final(t)
        with self._lock:
            return self.live.on_transcript(t, refinement)

    async def on_transcript(self, session: CallSession, transcript: Transcript) -> Sequence[Event]:
        if not self._due(transcript):
            return ()
        loop = asyncio.get_running_loop()
        events = await loop.run_in_executor(self._executor, self._analyse, transcript)
        for ev in events:
            if isinstance(ev, Alert):
                self.alerts.add(ev)
        return events

    def state(self, active: bool) -> CallState:
        with self._lock:
            return self.live.state(active=active)

    async def on_end(self, session: CallSession, summary: CallSummary) -> Sequence[Event]:
        return [self.state(False)]


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
    ) -> None:
        self.analyzer = analyzer
        self.redactor = redactor
        self.store = store
        self.alerts = AlertBook()
        self._context_factory = context_factory
        self._clock = clock
        self._live: dict[str, LiveAssist] = {}
        self.store_failures = 0
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
            listener = _Listener(live, self.alerts, self.analysis_executor)
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
