"""The supervisor alerts of one call: a crisis, a banned phrase said (once its utterance is final), one
anger escalation per call and one notice of each kind (``notices.py``: a threatened collective action,
拉横幅, 堵门; a threat to go to 信访 or the media); each numbered in the call and acknowledged by a
supervisor.  ``AlertBook`` keeps the recent alerts of the whole floor with their acknowledgement state, so
a dashboard that connects late still sees them and an acknowledgement reaches every supervisor.

A continuing crisis is ONE alert: the call's crisis re-raised on later utterances (the same kind of
danger, ``CallCrisis.kind``, and no new emergency number) sends the same alert again with its ``count``
and ``last_time``/``last_at`` updated and its acknowledgement kept, so an acknowledged crisis does not
come back as a new pin.  A new kind of danger, or an escalation (the crisis card gained an emergency
number: 110 then 119 as well), is a new alert, pinned again."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from assist.live.crisis import StandDown
from assist.live.notices import NoticeRule, Notices, shipped_notices
from assist.nlp.analyzer import Analysis
from assist.protocol.enums import AlertKind, Emotion, PromptKind, Role, Severity
from assist.protocol.events import Alert, Span, Transcript
from assist.protocol.payloads import BannedPayload, CriticalPayload, HandlingPayload, PromptData

# Caller emotion intensity from which an anger escalation alert is raised.
ESCALATION_LEVEL = 0.75
FURIOUS = 0.9  # anger this strong is an escalation whatever the call's emotion so far
MAX_ALERTS = 500  # alerts remembered for late-joining dashboards (oldest forgotten first)


@dataclass(slots=True)
class _Episode:
    """One continuing crisis of a call: its alert and the emergency numbers it was raised with."""

    alert_id: str
    kind: str | None
    numbers: frozenset[str]


class CallAlerts:
    """The alerts raised in one call, in order (a continuing crisis once, updated in place)."""

    def __init__(self, call_id: str, agent_id: str, clock: Callable[[], float],
                 notices: Notices | None = None) -> None:
        self.call_id = call_id
        self.agent_id = agent_id
        self._clock = clock
        self._notices = notices or shipped_notices()
        self._noticed: dict[AlertKind, str] = {}  # the call's notice (and handling alert) of each kind: one, updated
        self._seq = 0
        self._escalated = False
        self._crisis: _Episode | None = None
        self.alerts: list[Alert] = []

    def raise_for(
        self,
        t: Transcript,
        alerted: set[str],
        r: Analysis | None,
        wanted: Mapping[tuple[PromptKind, str], tuple[PromptData, Span | None]],
        crisis_kind: str | None = None,
        call_emotion: Emotion | None = None,
    ) -> list[Alert]:
        """The alerts the cards ``wanted`` for ``t`` call for, each once per utterance (``alerted`` holds
        the cards of the utterance already alerted on), and the call's escalation.  ``crisis_kind``: the
        call's kind of danger (``CallCrisis.kind``), which tells a continuing crisis from a new one;
        ``call_emotion``: the call's emotion after ``t`` (the meter's label): one line read as 愤怒 0.8 in a call
        whose emotion stays 失望 is no escalation (trial 6, L6: a factual 包工头…人跑了电话也不接)."""
        out: list[Alert] = []
        for (kind, key), (data, _) in wanted.items():
            tag = f"{kind}:{key}"
            if tag in alerted:
                continue
            if isinstance(data, CriticalPayload):
                out.append(self._crisis_alert(data, crisis_kind, t))
                alerted.add(tag)
            elif isinstance(data, BannedPayload) and t.final:
                msg = f"服务禁语「{data.said}」,应改为:{data.suggestion}"
                out.append(self._new(AlertKind.BANNED, Severity.WARNING, msg, t))
                alerted.add(tag)
            elif isinstance(data, HandlingPayload) and t.final:  # the operator's nudge, seen from the floor (trial 10)
                msg = f"{data.finding}「{data.said}」,应:{data.suggestion} 建议班长关注或介入"
                # one per call, raised again in place with its count and newest words (the review of stop 22: five
                # routine lines were five pins)
                out.append(self._once(AlertKind.HANDLING, Severity.WARNING, msg, t, renew=True))
                alerted.add(tag)
        if r is not None and t.final and Role(t.role).is_caller:
            out.extend(self._notice(rule, said, t) for rule, said in self._notices.find(r.normalized.text))
        if r is not None and t.final and Role(t.role).is_caller and not self._escalated:
            label = r.emotion.label if r.emotion is not None else None
            intensity = r.emotion.intensity if r.emotion is not None else 0.0
            # strong anger raises it at once; below that, in a call whose emotion is 愤怒 (the meter needs two lines
            # to turn from 焦虑: a caller who turns furious is not left waiting a line, stop 16's review)
            angry = label == Emotion.ANGER and (intensity >= FURIOUS or (
                intensity >= ESCALATION_LEVEL and call_emotion in (None, Emotion.ANGER)))
            if angry or r.escalation:
                self._escalated = True
                # the words' signs are named (扬言上访或越级反映), else the anger; never a calm 平静 0.0, nor one line's
                # 焦虑 0.4 beside the call's 失望 on the overlay (trial 6, M9)
                felt = f"{label} {intensity:.1f}" if label is not None and label.negative else "情绪激动"
                why = " · ".join(r.escalation_why) or felt
                msg = f"来电人情绪升级({why}),建议班长关注或介入"
                out.append(self._new(AlertKind.ESCALATION, Severity.WARNING, msg, t))
        return out

    def _crisis_alert(self, data: CriticalPayload, kind: str | None, t: Transcript) -> Alert:
        """A new crisis alert, or the call's continuing one updated (its count, when last raised)."""
        numbers = frozenset(data.referrals)
        ep = self._crisis
        msg = f"危机信号:{data.reason or '来电人表达轻生或暴力倾向'}"
        same_kind = ep is not None and (ep.kind is None or kind is None or ep.kind == kind)
        if ep is not None and same_kind and numbers <= ep.numbers:
            ep.kind = ep.kind or kind  # the kind became known: still this crisis
            again = self._again(ep.alert_id, t, message=msg)  # the newest reason
            if again is not None:
                return again
        alert = self._new(AlertKind.CRITICAL, Severity.CRITICAL, msg, t)
        # an escalation keeps the numbers already raised: a later re-raise with fewer is still this crisis
        known = ep.numbers if ep is not None and same_kind else frozenset()
        self._crisis = _Episode(alert.alert_id, kind or (ep.kind if ep is not None and same_kind else None),
                                numbers | known)
        return alert

    def stood_down(self, t: Transcript, done: StandDown) -> Alert:
        """The call's crisis stood down on the caller's correction, confirmed by the operator: a supervisor looks
        (a danger ended on a caller's word); a danger after it is a new crisis alert."""
        self._crisis = None
        numbers = "/".join(done.numbers) or "无"
        msg = f"危急解除:来电人更正「{done.correction}」,坐席确认「{done.confirmed}」;原建议转接 {numbers},请班长复核"
        return self._new(AlertKind.STOOD_DOWN, Severity.WARNING, msg, t)

    def _notice(self, rule: NoticeRule, said: str, t: Transcript) -> Alert:
        """The call's notice of ``rule``'s kind: new, or the one already raised updated."""
        return self._once(rule.kind, rule.severity, rule.message.format(said=said), t)

    def _once(self, kind: AlertKind, severity: Severity, message: str, t: Transcript, *, renew: bool = False) -> Alert:
        """The call's one alert of ``kind``: new, or the one already raised updated in place (with ``message`` when
        ``renew``: the newest words)."""
        again = self._again(self._noticed.get(kind), t, message=message if renew else None)
        if again is not None:
            return again
        alert = self._new(kind, severity, message, t)
        self._noticed[kind] = alert.alert_id
        return alert

    def _again(self, alert_id: str | None, t: Transcript, *, message: str | None = None) -> Alert | None:
        """The call's alert ``alert_id`` raised again on ``t``: its count and when last raised updated in place
        (and its ``message``, when given); None when the call has no such alert."""
        for i, alert in enumerate(self.alerts):
            if alert.alert_id == alert_id:
                again = dataclasses.replace(alert, message=message if message is not None else alert.message,
                                            count=alert.count + 1, last_time=t.end, last_at=self._clock())
                self.alerts[i] = again
                return again
        return None

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert | None:
        for i, alert in enumerate(self.alerts):
            if alert.alert_id == alert_id:
                acked = dataclasses.replace(alert, acknowledged_by=by, acknowledged_at=at)
                self.alerts[i] = acked
                return acked
        return None

    def _new(self, kind: AlertKind, severity: Severity, message: str, t: Transcript) -> Alert:
        self._seq += 1
        alert = Alert(
            alert_id=f"{self.call_id}:a{self._seq}",
            call_id=self.call_id,
            agent_id=self.agent_id,
            kind=kind,
            severity=severity,
            message=message,
            audio_time=t.end,
            utterance_id=t.utterance_id,
            created_at=self._clock(),
        )
        self.alerts.append(alert)
        return alert


class AlertBook:
    """Recent alerts of all calls, with their acknowledgement state."""

    def __init__(self, max_alerts: int = MAX_ALERTS) -> None:
        self._alerts: OrderedDict[str, Alert] = OrderedDict()
        self._max = max_alerts

    def add(self, alert: Alert) -> None:
        """A new alert, or a newer copy of one (a continuing crisis re-raised): the first acknowledgement
        is kept, so a re-raise never reopens an acknowledged alert."""
        seen = self._alerts.get(alert.alert_id)
        if seen is not None and seen.acknowledged_by is not None:
            alert = dataclasses.replace(alert, acknowledged_by=seen.acknowledged_by,
                                        acknowledged_at=seen.acknowledged_at, ack_note=seen.ack_note)
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
