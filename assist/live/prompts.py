"""Live assist for one call: transcripts in, prompts, call state and alerts out.

Every transcript (partial or final) is analysed.  Prompts are keyed by
(utterance, kind, key): the first sighting is ``show``, a change is ``update``,
and a prompt whose evidence a revised partial no longer contains is
``withdraw``-n.  Nothing is repeated as a partial grows.  Across utterances a
referral number or knowledge answer already shown in this call is not shown
again, and an empathy script is offered when the caller's emotion changes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from assist.live.call_state import CallTopic
from assist.nlp.analyzer import Analysis, CallContext
from assist.nlp.refine import Refinement
from assist.protocol.enums import (
    AlertKind,
    CallMode,
    Emotion,
    PromptAction,
    PromptKind,
    Role,
    Severity,
)
from assist.protocol.events import Alert, CallState, EmotionLevel, Event, Prompt, Span, Transcript
from assist.protocol.payloads import (
    BannedPayload,
    CategoryPayload,
    CriticalPayload,
    EmotionPayload,
    EmpathyPayload,
    KnowledgePayload,
    PromptData,
    ReferralPayload,
    payload_kind,
)
from assist.text import join_cjk

# Caller emotion intensity from which an anger escalation alert is raised.
ESCALATION_LEVEL = 0.75
# Per-utterance decay of the running emotion level (so it falls as the caller calms down).
LEVEL_DECAY = 0.85


class TextAnalyzer(Protocol):
    """What live assist needs of the analysis engine (``assist.nlp.analyzer.Analyzer``)."""

    def analyze(
        self, role: Role, text: str, context: CallContext | None = None, *, utterance_id: str | None = None
    ) -> Analysis: ...


@runtime_checkable
class LearnedAnalyzer(TextAnalyzer, Protocol):
    """An analysis engine with learned models beside its rules (``assist train``)."""

    def learned_refinement(self, role: Role, text: str) -> Refinement | None: ...

    def refine(
        self,
        a: Analysis,
        context: CallContext | None = None,
        *,
        utterance_id: str | None = None,
        refinement: Refinement | None = None,
    ) -> Analysis: ...


@dataclass
class _Card:
    prompt_id: str
    data: PromptData


@dataclass
class _Utterance:
    role: Role
    cards: dict[tuple[PromptKind, str], _Card] = field(default_factory=dict)
    alerted: set[str] = field(default_factory=set)


# The cards one transcript calls for: (kind, key) -> (payload, evidence).
_Wanted = dict[tuple[PromptKind, str], tuple[PromptData, Span | None]]


def _found(text: str, words: str) -> Span | None:
    """``words`` as found in ``text`` (at 0 when the recogniser's text does not hold them as such)."""
    if not words:
        return None
    pos = max(text.find(words), 0)
    return Span(text=words, start=pos, end=pos + len(words))


class LiveAssist:
    """Turns one call's transcripts into operator prompts, call state and supervisor alerts."""

    def __init__(
        self,
        call_id: str,
        agent_id: str,
        analyzer: TextAnalyzer,
        *,
        mode: CallMode = CallMode.LIVE,
        context_factory: Callable[[], CallContext] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.call_id = call_id
        self.agent_id = agent_id
        self.mode = mode
        self._analyzer = analyzer
        self._clock = clock
        self._context = context_factory() if context_factory else None
        self.started_at = clock()
        self._utterances: dict[str, _Utterance] = {}
        self._shown_referrals: set[str] = set()
        self._shown_knowledge: set[str] = set()
        self._last_empathy_label: Emotion | None = None
        self.level = 0.0
        self.emotion_label = Emotion.CALM
        self.topic = CallTopic()  # category and department decided for the call (call_state.py)
        self.referrals: list[str] = []
        self.warnings = 0
        self.critical = False
        self._escalated = False
        self._alert_seq = 0
        self.audio_time = 0.0
        self.alerts: list[Alert] = []

    # ------------------------------------------------------------ public

    def learned_for_final(self, t: Transcript) -> Refinement | None:
        """The learned path for a caller final (blocking, ~20 ms: run it off the event loop), or None.

        Pass the result to ``on_transcript(t, refinement)``."""
        if not isinstance(self._analyzer, LearnedAnalyzer) or not t.final or Role(t.role).is_agent:
            return None
        text = join_cjk(t.text)
        return self._analyzer.learned_refinement(Role.CALLER, text) if text.strip() else None

    def on_transcript(self, t: Transcript, refinement: Refinement | None = None) -> list[Event]:
        """Analyse one transcript event; return the prompt, alert and state events it causes."""
        self.audio_time = max(self.audio_time, t.end)
        text = join_cjk(t.text)
        utt = self._utterances.setdefault(t.utterance_id, _Utterance(role=t.role))
        result = self._analyze(t.role, text, t.utterance_id, refinement) if text.strip() else None
        wanted = self._cards_for(t, text, result) if result is not None else {}
        out: list[Event] = []
        for key, (data, span) in wanted.items():
            card = utt.cards.get(key)
            if card is None:
                pid = f"{self.call_id}:{t.utterance_id}:{key[0]}:{key[1]}"
                utt.cards[key] = _Card(pid, data)
                out.append(self._prompt(pid, t, PromptAction.SHOW, span, data))
            elif card.data != data:
                card.data = data
                out.append(self._prompt(card.prompt_id, t, PromptAction.UPDATE, span, data))
        for key in [k for k in utt.cards if k not in wanted]:
            card = utt.cards.pop(key)
            out.append(self._prompt(card.prompt_id, t, PromptAction.WITHDRAW, None, card.data))
        out.extend(self._alerts(t, utt, result, wanted))
        changed = False
        if t.final:
            changed = self._fold_final(t, utt, result)
            self._utterances.pop(t.utterance_id, None)
        if out or changed:
            out.append(self.state())
        return out

    def state(self, *, active: bool = True) -> CallState:
        return CallState(
            call_id=self.call_id,
            agent_id=self.agent_id,
            started_at=self.started_at,
            active=active,
            duration=self.audio_time,
            emotion=EmotionLevel(label=self.emotion_label, intensity=round(self.level, 2)),
            intent=self.topic.category.current,
            department=self.topic.department.current,
            referrals=tuple(self.referrals),
            warnings=self.warnings,
            critical=self.critical,
            mode=self.mode,
        )

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert | None:
        for i, alert in enumerate(self.alerts):
            if alert.alert_id == alert_id:
                acked = dataclasses.replace(alert, acknowledged_by=by, acknowledged_at=at)
                self.alerts[i] = acked
                return acked
        return None

    # ------------------------------------------------------------ internals

    def _analyze(self, role: Role, text: str, utterance_id: str, refinement: Refinement | None) -> Analysis:
        """Analyse with the call's context; a growing partial replaces its own record in it.
        A caller final's ``refinement`` (the learned path) is applied on top of the rules."""
        ctx = self._context
        if role == Role.AGENT:
            return self._analyzer.analyze(role, text, ctx, utterance_id=utterance_id)
        result = self._analyzer.analyze(Role.CALLER, text, ctx, utterance_id=utterance_id)
        if refinement is not None and isinstance(self._analyzer, LearnedAnalyzer):
            result = self._analyzer.refine(result, ctx, utterance_id=utterance_id, refinement=refinement)
        if role == Role.MIXED:  # one mixed channel carries both voices: caller prompts plus banned phrases
            result = dataclasses.replace(result, banned=self._analyzer.analyze(Role.AGENT, text).banned)
        return result

    def _prompt(self, pid: str, t: Transcript, action: PromptAction, span: Span | None, data: PromptData) -> Prompt:
        return Prompt(
            prompt_id=pid,
            call_id=self.call_id,
            role=t.role,
            utterance_id=t.utterance_id,
            kind=payload_kind(data),
            action=action,
            audio_time=t.end,
            span=span,
            data=data,
        )

    def _cards_for(self, t: Transcript, text: str, r: Analysis) -> _Wanted:
        cards: _Wanted = {}
        role = Role(t.role)
        if role.is_agent:
            for i, hit in enumerate(r.banned):
                cards[(PromptKind.BANNED, f"{hit.rule}-{i}")] = (
                    BannedPayload(rule=hit.rule, said=hit.span.text, suggestion=hit.suggestion),
                    Span(text=hit.span.text, start=hit.span.start, end=hit.span.end) if hit.span.text else None,
                )
        if not role.is_caller:
            return cards
        if r.critical:
            data: PromptData = CriticalPayload(reason=r.critical_reason, referrals=tuple(x.number for x in r.referrals))
            cards[(PromptKind.CRITICAL, "0")] = (data, None)
        label = r.emotion.label if r.emotion is not None else None
        if r.emotion is not None and r.emotion.label.negative:
            data = EmotionPayload(label=r.emotion.label, intensity=round(float(r.emotion.intensity), 1))
            cards[(PromptKind.EMOTION, "0")] = (data, None)
        if r.intent:
            cards[(PromptKind.CATEGORY, "0")] = (CategoryPayload(intent=r.intent, department=r.department), None)
        for ref in r.referrals:
            if ref.number in self._shown_referrals:
                continue
            data = ReferralPayload(number=ref.number, name=ref.name, reason=ref.reason, script=ref.script)
            cards[(PromptKind.REFERRAL, ref.number)] = (data, _found(text, ref.span.text if ref.span else ""))
        if r.knowledge and r.knowledge[0].id not in self._shown_knowledge:
            top = r.knowledge[0]
            data = KnowledgePayload(id=top.id, question=top.question, answer=top.answer, score=round(top.score, 3),
                                    source=top.source, updated=top.updated)
            cards[(PromptKind.KNOWLEDGE, "0")] = (data, None)
        if r.empathy and label is not None and label != self._last_empathy_label:
            cards[(PromptKind.EMPATHY, "0")] = (EmpathyPayload(label=label, steps=r.empathy), None)
        return cards

    def _alerts(self, t: Transcript, utt: _Utterance, r: Analysis | None, wanted: _Wanted) -> list[Event]:
        out: list[Event] = []
        for (kind, key), (data, _) in wanted.items():
            tag = f"{kind}:{key}"
            if tag in utt.alerted:
                continue
            if isinstance(data, CriticalPayload):
                msg = f"危机信号:{data.reason or '来电人表达轻生或暴力倾向'}"
                out.append(self._new_alert(AlertKind.CRITICAL, Severity.CRITICAL, msg, t))
                utt.alerted.add(tag)
                self.critical = True
            elif isinstance(data, BannedPayload) and t.final:
                msg = f"服务禁语「{data.said}」,应改为:{data.suggestion}"
                out.append(self._new_alert(AlertKind.BANNED, Severity.WARNING, msg, t))
                utt.alerted.add(tag)
        if r is not None and t.final and Role(t.role).is_caller and not self._escalated:
            label = r.emotion.label if r.emotion is not None else None
            intensity = r.emotion.intensity if r.emotion is not None else 0.0
            if (label == Emotion.ANGER and intensity >= ESCALATION_LEVEL) or r.escalation:
                self._escalated = True
                msg = f"来电人情绪升级({label or Emotion.ANGER} {intensity:.1f}),建议班长关注或介入"
                out.append(self._new_alert(AlertKind.ESCALATION, Severity.WARNING, msg, t))
        return out

    def _new_alert(self, kind: AlertKind, severity: Severity, message: str, t: Transcript) -> Alert:
        self._alert_seq += 1
        alert = Alert(
            alert_id=f"{self.call_id}:a{self._alert_seq}",
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

    def _fold_final(self, t: Transcript, utt: _Utterance, r: Analysis | None) -> bool:
        """Update the running call state from a final utterance; True if it changed."""
        before = self.state()
        for (kind, key), card in utt.cards.items():
            if kind == PromptKind.REFERRAL:
                self._shown_referrals.add(key)
                if key not in self.referrals:
                    self.referrals.append(key)
            elif isinstance(card.data, KnowledgePayload):
                self._shown_knowledge.add(card.data.id)
            elif isinstance(card.data, EmpathyPayload):
                self._last_empathy_label = card.data.label
            elif kind == PromptKind.BANNED:
                self.warnings += 1
        if r is not None and Role(t.role).is_caller:
            label = r.emotion.label if r.emotion is not None else Emotion.CALM
            intensity = r.emotion.intensity if r.emotion is not None else 0.0
            decayed = self.level * LEVEL_DECAY
            if label.negative and intensity >= decayed:
                self.level, self.emotion_label = intensity, label
            else:
                self.level = decayed
                if label.negative:
                    pass  # keep the stronger running label
                elif self.level < 0.3:
                    self.emotion_label = label
            self.topic.fold(r.intent, r.department, critical=r.critical, upset=self.level if self.emotion_label.negative
                            else 0.0, negative_now=label.negative)
            if r.critical:
                self.critical = True
        return self.state() != before


def replay_events(assist: LiveAssist, transcripts: Iterable[Transcript]) -> list[Event]:
    """Run a whole transcript through live assist (training reports, tests)."""
    out: list[Event] = []
    for t in transcripts:
        out.extend(assist.on_transcript(t))
    return out
