"""Training report of one call (docs/training.md): what the operator said and should have said.

``build_report(events)`` reads the typed event stream of a call (final transcripts,
prompts, alerts, call state; JSON received from the server is decoded first, at the
edge, by ``assist.protocol.decode.decode_events``) and
returns a ``TrainingReport``: banned phrases used (time, words, what to say
instead), the standard opening and closing greetings, the three empathy steps
in the operator's words after the caller showed emotion, the referrals and
knowledge answers the assistant offered, the category and department, the
caller's peak emotion and the alerts.  It is pure and deterministic: the same
events give the same report, with no wall-clock field in it.

Prompts count in their last state: a card withdrawn (its evidence revised away)
does not count.  ``report_for_call(store, call_id)`` builds the same report from
a stored call, for the dashboard's ``GET /api/calls/ID/report``.  The cue
phrases are data: ``assist/nlp/data/training.toml`` (``assist.training.rules``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assist.protocol.decode import DecodeError, decode
from assist.protocol.enums import AlertKind, CallMode, Category, Emotion, PromptAction, Role, Severity
from assist.protocol.events import Alert, CallStarted, CallState, Event, Prompt, Ready, Transcript
from assist.protocol.payloads import (
    BannedPayload,
    CategoryPayload,
    CriticalPayload,
    EmotionPayload,
    KnowledgePayload,
    PromptData,
    ReferralPayload,
)
from assist.text import join_cjk
from assist.training.crisis import CrisisCheck, CrisisRules, Said, judge
from assist.training.rules import EmpathyStep, GreetingRule, Match, TrainingRules

if TYPE_CHECKING:
    from assist.store.base import CallStore as Store  # either backend (assist.store.open)

log = logging.getLogger(__name__)


def _t(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


# ---------------------------------------------------------------- report shape


@dataclass(frozen=True, slots=True)
class BannedUse:
    time: float
    words: str  # what the operator said
    rule: str
    suggestion: str  # the compliant wording


@dataclass(frozen=True, slots=True)
class GreetingCheck:
    used: bool  # every part was said
    time: float | None  # start of the first utterance with a part of it
    said: str | None  # those utterances
    missing: tuple[str, ...]  # names of the parts not said
    expected: str  # the standard wording


@dataclass(frozen=True, slots=True)
class StepCheck:
    step: str  # 情绪承接 / 责任表态 / 行动承诺
    done: bool
    time: float | None
    said: str | None
    expected: str
    notes: tuple[str, ...] = ()  # why a cue did not count (no time given, hedged)


@dataclass(frozen=True, slots=True)
class EmotionMark:
    label: Emotion
    intensity: float
    time: float | None


@dataclass(frozen=True, slots=True)
class EmpathyCheck:
    emotion: EmotionMark | None  # when the caller first showed emotion (None: never)
    steps: tuple[StepCheck, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReferralOffer:
    time: float
    number: str
    name: str
    reason: str
    given: bool  # the operator said the number afterwards


@dataclass(frozen=True, slots=True)
class KnowledgeOffer:
    time: float
    id: str
    question: str
    answer: str
    score: float | None


@dataclass(frozen=True, slots=True)
class CallCategory:
    intent: Category
    department: str | None


@dataclass(frozen=True, slots=True)
class AlertNote:
    time: float
    kind: AlertKind
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class TrainingReport:
    call_id: str | None
    agent_id: str | None
    mode: CallMode | None
    duration: float  # audio time of the end of the last utterance
    utterances: dict[Role, int]  # final utterances with text, per role
    category: CallCategory | None
    emotion: EmotionMark | None  # the caller's peak negative emotion
    opening: GreetingCheck
    closing: GreetingCheck
    banned: tuple[BannedUse, ...]
    empathy: EmpathyCheck
    referrals: tuple[ReferralOffer, ...]
    knowledge: tuple[KnowledgeOffer, ...]
    critical: tuple[AlertNote, ...]
    alerts: tuple[AlertNote, ...]
    suggestions: tuple[str, ...] = field(default=())
    crisis: CrisisCheck | None = None  # a call with a critical signal is judged by crisis criteria

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the keys are the ones the dashboard's report view labels."""
        return {
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "mode": self.mode,
            "duration": self.duration,
            "utterances": dict(self.utterances),
            "category": _plain(self.category),
            "emotion": _plain(self.emotion),
            "greetings": {"opening": _plain(self.opening), "closing": _plain(self.closing)},
            "banned": [_plain(b) for b in self.banned],
            "empathy": _plain(self.empathy),
            "referrals": [_plain(r) for r in self.referrals],
            "knowledge": [_plain(k) for k in self.knowledge],
            "critical": [{"time": a.time, "message": a.message} for a in self.critical],
            "alerts": [_plain(a) for a in self.alerts],
            "suggestions": list(self.suggestions),
            "crisis": _plain(self.crisis),
        }


def _plain(value: object) -> object:
    """A report value in its JSON form (dataclasses as objects, tuples as lists)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"{type(value).__name__} is not part of a report")


# ---------------------------------------------------------------- the call as read from events


@dataclass(frozen=True, slots=True)
class _Utterance:
    utterance_id: str
    role: Role
    text: str  # for display (no spaces between Chinese words)
    norm: str  # normalised, for matching
    start: float
    end: float
    words: tuple[tuple[str, float], ...]  # (word, start)


@dataclass(frozen=True, slots=True)
class _Card:
    """A prompt in its last state, at the time of its utterance."""

    prompt: Prompt
    time: float

    @property
    def data(self) -> PromptData:
        return self.prompt.data


@dataclass
class _Call:
    call_id: str | None = None
    agent_id: str | None = None
    mode: CallMode | None = None
    utterances: dict[str, _Utterance] = field(default_factory=dict)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)


def _read(events: Iterable[Event], rules: TrainingRules) -> _Call:
    call = _Call()
    for ev in events:
        if isinstance(ev, Ready | CallState | CallStarted | Transcript | Prompt | Alert) and ev.call_id:
            call.call_id = call.call_id or ev.call_id
        if isinstance(ev, CallState | CallStarted):
            call.agent_id = ev.agent_id or call.agent_id
            call.mode = ev.mode or call.mode
        elif isinstance(ev, Transcript) and ev.final:
            if not ev.text.strip():
                call.utterances.pop(ev.utterance_id, None)  # a withdrawn utterance
                continue
            call.utterances[ev.utterance_id] = _Utterance(
                ev.utterance_id, Role(ev.role), join_cjk(ev.text), rules.normalize(ev.text), ev.start, ev.end,
                tuple((w.word, w.start) for w in ev.words),
            )
        elif isinstance(ev, Prompt):
            call.prompts[ev.prompt_id] = ev
        elif isinstance(ev, Alert):
            call.alerts.setdefault(ev.alert_id, ev)
    return call


def _cards(call: _Call) -> list[_Card]:
    """Prompts in their last state, withdrawn ones left out, in time order."""
    out = []
    for p in call.prompts.values():
        if p.action == PromptAction.WITHDRAW:
            continue
        utt = call.utterances.get(p.utterance_id)
        out.append(_Card(p, utt.start if utt is not None else p.audio_time))
    return sorted(out, key=lambda c: (c.time, c.prompt.prompt_id))


# ---------------------------------------------------------------- the checks


def _greeting(rule: GreetingRule, utterances: Sequence[_Utterance]) -> GreetingCheck:
    found: dict[str, _Utterance] = {}
    for utt in utterances:
        for part in rule.parts:
            if part.name not in found and part.cue.find(utt.norm) is not None:
                found[part.name] = utt
    hits = sorted({u.utterance_id: u for u in found.values()}.values(), key=lambda u: (u.start, u.utterance_id))
    missing = tuple(p.name for p in rule.parts if p.name not in found)
    return GreetingCheck(
        used=not missing,
        time=_t(hits[0].start) if hits else None,
        said=" / ".join(u.text for u in hits) if hits else None,
        missing=missing,
        expected=rule.example,
    )


def _opening(rules: TrainingRules, agent: Sequence[_Utterance]) -> GreetingCheck:
    if not agent:
        return _greeting(rules.opening, [])
    first = agent[0].start
    return _greeting(rules.opening, [u for u in agent if u.start <= first + rules.opening.within_seconds])


def _closing(rules: TrainingRules, agent: Sequence[_Utterance], call_end: float) -> GreetingCheck:
    return _greeting(rules.closing, [u for u in agent if u.end >= call_end - rules.closing.within_seconds])


def _step(step: EmpathyStep, utterances: Sequence[_Utterance]) -> StepCheck:
    notes: list[str] = []
    for utt in utterances:
        for m in step.cue.find_all(utt.norm):
            problem = _near_problem(step, utt.norm, m)
            if problem is None:
                return StepCheck(step.name, True, _t(utt.start), utt.text, step.example)
            if problem not in notes:
                notes.append(problem)
    return StepCheck(step.name, False, None, None, step.example, tuple(notes))


def _near_problem(step: EmpathyStep, text: str, m: Match) -> str | None:
    """Why a cue does not count (no specific time near it, a hedge near it), or None if it does."""
    near = text[max(0, m.start - step.window): m.end + step.window]
    for pattern in step.reject:
        hedge = pattern.search(near)
        if hedge:
            return f"「{hedge.group(0)}」{step.reject_note}"
    if step.require and not any(p.search(near) for p in step.require):
        return f"「{m.text}」{step.require_note}"
    return None


def _emotions(cards: Sequence[_Card]) -> list[tuple[_Card, Emotion, float]]:
    out = []
    for c in cards:
        data = c.data
        if isinstance(data, EmotionPayload) and Role(c.prompt.role).is_caller and data.label.negative:
            out.append((c, data.label, data.intensity))
    return out


def _empathy(rules: TrainingRules, cards: Sequence[_Card], agent: Sequence[_Utterance]) -> EmpathyCheck:
    shown = [(c, label, level) for c, label, level in _emotions(cards) if level >= rules.min_intensity]
    if not shown:
        return EmpathyCheck(None, (), ("来电人没有表现出明显的负面情绪,本通电话不检查共情三步",))
    card, label, level = shown[0]
    after = [u for u in agent if u.start >= card.time]
    steps = tuple(_step(s, after) for s in rules.steps)
    return EmpathyCheck(EmotionMark(label, round(level, 2), _t(card.time)), steps)


def _peak(cards: Sequence[_Card]) -> EmotionMark | None:
    best: tuple[_Card, Emotion, float] | None = None
    for item in _emotions(cards):
        if best is None or item[2] > best[2]:
            best = item
    if best is None:
        return None
    return EmotionMark(best[1], round(best[2], 2), _t(best[0].time))


def _category(cards: Sequence[_Card]) -> CallCategory | None:
    """The intent suggested most often on caller utterances (ties: the earliest), and likewise its department."""
    intents: dict[Category, int] = {}
    departments: dict[str, int] = {}
    for c in cards:
        data = c.data
        if not isinstance(data, CategoryPayload):
            continue
        intents[data.intent] = intents.get(data.intent, 0) + 1
        if data.department:
            departments[data.department] = departments.get(data.department, 0) + 1
    if not intents:
        return None
    intent = max(intents, key=lambda k: intents[k])  # first inserted wins ties
    department = max(departments, key=lambda k: departments[k]) if departments else None
    return CallCategory(intent, department)


def _word_time(utt: _Utterance | None, card: _Card, said: str) -> float:
    """When the banned words were said: the start of the word where the span begins."""
    if utt is None:
        return card.time
    span = card.prompt.span
    span_text = (span.text if span is not None else "") or said
    joined = ""
    starts: list[tuple[int, float]] = []
    for word, start in utt.words:
        starts.append((len(joined), start))
        joined += word.replace(" ", "")
    pos = joined.find(span_text) if span_text else -1
    if pos < 0 and span is not None and 0 <= span.start < len(joined):
        pos = span.start
    if pos < 0 or not starts:
        return utt.start
    return max((s for i, s in starts if i <= pos), default=utt.start)


def _banned(call: _Call, cards: Sequence[_Card]) -> tuple[BannedUse, ...]:
    out = []
    for c in cards:
        data = c.data
        if isinstance(data, BannedPayload) and Role(c.prompt.role).is_agent:
            when = _word_time(call.utterances.get(c.prompt.utterance_id), c, data.said)
            out.append(BannedUse(_t(when) or 0.0, data.said, data.rule, data.suggestion))
    return tuple(sorted(out, key=lambda b: (b.time, b.words, b.rule)))


def _referrals(cards: Sequence[_Card], agent: Sequence[_Utterance]) -> tuple[ReferralOffer, ...]:
    out: dict[str, ReferralOffer] = {}
    for c in cards:
        data = c.data
        if not isinstance(data, ReferralPayload) or not data.number or data.number in out:
            continue
        given = any(u.start >= c.time and data.number in u.norm for u in agent)
        out[data.number] = ReferralOffer(_t(c.time) or 0.0, data.number, data.name, data.reason, given)
    return tuple(out.values())


def _knowledge(cards: Sequence[_Card]) -> tuple[KnowledgeOffer, ...]:
    out: dict[str, KnowledgeOffer] = {}
    for c in cards:
        data = c.data
        if not isinstance(data, KnowledgePayload) or not data.id or data.id in out:
            continue
        out[data.id] = KnowledgeOffer(_t(c.time) or 0.0, data.id, data.question, data.answer, round(data.score, 3))
    return tuple(out.values())


def _alerts(call: _Call) -> tuple[AlertNote, ...]:
    notes = [
        (a.alert_id, AlertNote(_t(a.audio_time) or 0.0, a.kind, a.severity, a.message))
        for a in call.alerts.values()
    ]
    return tuple(n for _, n in sorted(notes, key=lambda x: (x[1].time, x[0])))


def _suggestions(report: TrainingReport) -> tuple[str, ...]:
    out: list[str] = []
    crisis = report.crisis
    if crisis is not None:  # judged by what a crisis needs, not by the routine closing or 办结时限
        out.extend(f"危急来电缺少「{i.item}」;可以说:{i.expected}" for i in crisis.items if not i.done)
    for name, check in (("开头语", report.opening), ("结束语", report.closing)):
        if not check.used and not (crisis is not None and name == "结束语"):
            out.append(f"{name}不完整,缺少{'、'.join(check.missing)};标准说法:{check.expected}")
    for b in report.banned:
        out.append(f"{_clock(b.time)} 说了禁用语「{b.words}」,应改为:{b.suggestion}")
    if report.empathy.emotion is not None and crisis is None:
        e = report.empathy.emotion
        for s in report.empathy.steps:
            if not s.done:
                why = f":{';'.join(s.notes)}" if s.notes else ""
                out.append(f"来电人{e.label}后缺少「{s.step}」{why};可以说:{s.expected}")
    for r in report.referrals:
        if not r.given:
            out.append(f"助手建议转介 {r.number} {r.name},坐席没有告知来电人")
    return tuple(out)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(max(0.0, seconds)), 60)
    return f"{minutes:02d}:{secs:02d}"


def build_report(events: Iterable[Event], rules: TrainingRules | None = None) -> TrainingReport:
    """The training report of one call from its event stream (see the module docstring)."""
    rules = rules or TrainingRules.load()
    call = _read(events, rules)
    utterances = sorted(call.utterances.values(), key=lambda u: (u.start, u.end, u.utterance_id))
    agent = [u for u in utterances if u.role.is_agent]
    cards = _cards(call)
    end = max((u.end for u in utterances), default=0.0)
    counts: dict[Role, int] = {}
    for u in utterances:
        counts[u.role] = counts.get(u.role, 0) + 1
    alerts = _alerts(call)
    report = TrainingReport(
        call_id=call.call_id,
        agent_id=call.agent_id,
        mode=call.mode,
        duration=_t(end) or 0.0,
        utterances=dict(sorted(counts.items())),
        category=_category(cards),
        emotion=_peak(cards),
        opening=_opening(rules, agent),
        closing=_closing(rules, agent, end),
        banned=_banned(call, cards),
        empathy=_empathy(rules, cards, agent),
        referrals=_referrals(cards, agent),
        knowledge=_knowledge(cards),
        critical=tuple(a for a in alerts if a.kind == AlertKind.CRITICAL or a.severity == Severity.CRITICAL),
        alerts=alerts,
        crisis=_crisis(call, cards, agent),
    )
    return dataclasses.replace(report, suggestions=_suggestions(report))


_CRISIS_RULES: list[CrisisRules] = []


def _crisis(call: _Call, cards: Sequence[_Card], agent: Sequence[_Utterance]) -> CrisisCheck | None:
    """Crisis criteria from the first critical prompt on (None when no critical signal fired)."""
    critical = sorted((c for c in cards if isinstance(c.data, CriticalPayload)), key=lambda c: c.time)
    if not critical:
        return None
    if not _CRISIS_RULES:
        _CRISIS_RULES.append(CrisisRules.load())
    first = critical[0]
    said = call.utterances.get(first.prompt.utterance_id)
    since = said.start if said is not None else first.time
    numbers: list[str] = []
    for card in critical:
        data = card.data
        for n in data.referrals if isinstance(data, CriticalPayload) else ():
            if n not in numbers:
                numbers.append(n)
    return judge(_CRISIS_RULES[0], since, numbers, [Said(u.text, u.norm, u.start, u.end) for u in agent])


# ---------------------------------------------------------------- stored calls


def stored_events(stored: Mapping[str, Any]) -> list[Event]:
    """A stored call (``Store.get_call``, JSON-ready rows) as the typed events ``build_report`` reads.

    This is the edge where stored JSON becomes typed: a stored prompt or alert that does not
    decode (written by a program with another contract) is left out and logged."""
    call = stored["call"]
    call_id = str(call["call_id"])
    events: list[Event] = [decode(CallStarted, call)]
    for u in stored["utterances"]:
        events.append(decode(Transcript, {**u, "call_id": call_id, "final": True}))
    for p in stored["prompts"]:
        # a withdrawn row keeps its last shown content, with the row's last action
        raw = {**p["event"], "action": p["action"]}
        try:
            events.append(decode(Prompt, raw))
        except DecodeError as exc:
            log.warning("call %s: stored prompt %s left out of the report: %s", call_id, p.get("prompt_id"), exc)
    for a in stored["alerts"]:
        try:
            events.append(decode(Alert, a))
        except DecodeError as exc:
            log.warning("call %s: stored alert %s left out of the report: %s", call_id, a.get("alert_id"), exc)
    return events


async def report_for_call(store: Store, call_id: str) -> dict[str, Any]:
    """The training report of a stored call, JSON-ready (``GET /api/calls/ID/report``).

    Raises ``assist.store.db.NotFound`` for an unknown call (HTTP 404)."""
    stored = await store.get_call(call_id)
    return build_report(stored_events(stored)).to_dict()


# ---------------------------------------------------------------- for people


def render_text(report: TrainingReport) -> str:
    """The report as readable Chinese text for a trainer's terminal."""
    ok = {True: "✓", False: "✗"}
    lines = [f"══════ 培训报告 {report.call_id or ''} ══════".rstrip()]
    roles = {Role.AGENT: "坐席", Role.CALLER: "来电人", Role.MIXED: "通话"}
    counts = " · ".join(f"{roles.get(r, r)} {n} 句" for r, n in report.utterances.items())
    lines.append(f"通话时长 {_clock(report.duration)}" + (f" · {counts}" if counts else ""))
    if report.category is not None:
        dept = f" · 承办部门:{report.category.department}" if report.category.department else ""
        lines.append(f"诉求分类:{report.category.intent}{dept}")
    else:
        lines.append("诉求分类:未识别")
    if report.emotion is not None:
        e = report.emotion
        lines.append(f"来电人情绪峰值:{e.label} {e.intensity:.1f}({_clock(e.time)})")
    else:
        lines.append("来电人情绪:平稳")
    lines.append("规范用语")
    for name, check in (("开头语", report.opening), ("结束语", report.closing)):
        if check.used:
            lines.append(f"  {ok[True]} {name} [{_clock(check.time)}] {check.said}")
        else:
            said = f" [{_clock(check.time)}] {check.said}" if check.said else ""
            lines.append(f"  {ok[False]} {name}{said} — 缺少{'、'.join(check.missing)};应说:{check.expected}")
    lines.append(f"禁用语({len(report.banned)} 次)" if report.banned else "禁用语:无")
    for b in report.banned:
        lines.append(f"  [{_clock(b.time)}] 「{b.words}」 → 应说:{b.suggestion}")
    emp = report.empathy
    if emp.emotion is None:
        lines.append("共情三步:来电人情绪平稳,不需要")
    else:
        lines.append(f"共情三步(来电人 {_clock(emp.emotion.time)} 表现出{emp.emotion.label}之后)")
        for s in emp.steps:
            if s.done:
                lines.append(f"  {ok[True]} {s.step} [{_clock(s.time)}] {s.said}")
            else:
                why = f"{';'.join(s.notes)};" if s.notes else ""
                lines.append(f"  {ok[False]} {s.step} — {why}可以说:{s.expected}")
    lines.append("转介建议" if report.referrals else "转介建议:无")
    for r in report.referrals:
        told = "已告知来电人" if r.given else "未告知来电人"
        lines.append(f"  [{_clock(r.time)}] {r.number} {r.name}({told})")
    lines.append("知识库答案" if report.knowledge else "知识库答案:无")
    for k in report.knowledge:
        lines.append(f"  [{_clock(k.time)}] {k.question}")
    if report.critical:
        lines.append("危急告警")
        lines.extend(f"  [{_clock(a.time)}] {a.message}" for a in report.critical)
    if report.crisis is not None:
        lines.append("危急处置(按危急来电标准评价,不看结束语和办结时限)")
        for item in report.crisis.items:
            if item.done:
                lines.append(f"  {ok[True]} {item.item} [{_clock(item.time)}] {item.said}")
            else:
                lines.append(f"  {ok[False]} {item.item} — 可以说:{item.expected}")
    else:
        lines.append("危急告警:无")
    others = [a for a in report.alerts if a not in report.critical]
    if others:
        lines.append("班长告警")
        lines.extend(f"  [{_clock(a.time)}] {a.message}" for a in others)
    if report.suggestions:
        lines.append("改进建议")
        lines.extend(f"  {i}. {s}" for i, s in enumerate(report.suggestions, 1))
    else:
        lines.append("改进建议:无,做得好!")
    return "\n".join(lines)
