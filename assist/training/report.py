"""Training report of one call (docs/training.md): what the operator said and should have said.

``build_report(events)`` reads the event stream of a call (final transcripts,
prompts, alerts, call state: JSON objects as on the wire, or ``Event``s) and
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assist.protocol.events import Event
from assist.text import join_cjk
from assist.training.crisis import CrisisCheck, CrisisRules, Said, judge
from assist.training.rules import EmpathyStep, GreetingRule, Match, TrainingRules

if TYPE_CHECKING:
    from assist.store.base import CallStore as Store  # either backend (assist.store.open)

AGENT_ROLES = ("agent", "mixed")  # the operator's words (a mono call carries both voices)
CALLER_ROLES = ("caller", "mixed")
NEGATIVE = ("愤怒", "焦虑", "失望", "绝望")


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
    label: str
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
class Category:
    intent: str
    department: str | None


@dataclass(frozen=True, slots=True)
class AlertNote:
    time: float
    kind: str
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class TrainingReport:
    call_id: str | None
    agent_id: str | None
    mode: str | None
    duration: float  # audio time of the end of the last utterance
    utterances: dict[str, int]  # final utterances with text, per role
    category: Category | None
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


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}


# ---------------------------------------------------------------- the call as read from events


@dataclass(frozen=True, slots=True)
class _Utterance:
    utterance_id: str
    role: str
    text: str  # for display (no spaces between Chinese words)
    norm: str  # normalised, for matching
    start: float
    end: float
    words: tuple[tuple[str, float], ...]  # (word, start)


@dataclass(frozen=True, slots=True)
class _Card:
    prompt_id: str
    kind: str
    role: str
    utterance_id: str
    time: float
    data: Mapping[str, Any]
    span: Mapping[str, Any] | None


@dataclass
class _Call:
    call_id: str | None = None
    agent_id: str | None = None
    mode: str | None = None
    utterances: dict[str, _Utterance] = field(default_factory=dict)
    prompts: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    alerts: dict[str, Mapping[str, Any]] = field(default_factory=dict)


def _as_dict(event: Mapping[str, Any] | Event) -> Mapping[str, Any]:
    return event.to_dict() if isinstance(event, Event) else event


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _read(events: Iterable[Mapping[str, Any] | Event], rules: TrainingRules) -> _Call:
    call = _Call()
    for raw in events:
        ev = _as_dict(raw)
        kind = ev.get("type")
        if kind in ("ready", "call_state", "call_started", "transcript", "prompt", "alert") and ev.get("call_id"):
            call.call_id = call.call_id or _str(ev.get("call_id"))
        if kind in ("call_state", "call_started"):
            call.agent_id = _str(ev.get("agent_id")) or call.agent_id
            call.mode = _str(ev.get("mode")) or call.mode
        elif kind == "transcript" and ev.get("final"):
            uid = _str(ev.get("utterance_id"))
            text = _str(ev.get("text"))
            if not text.strip():
                call.utterances.pop(uid, None)  # a withdrawn utterance
                continue
            words = ev.get("words") or ()
            timed = tuple(
                (_str(w.get("word")), _num(w.get("start"))) for w in words if isinstance(w, Mapping)
            )
            call.utterances[uid] = _Utterance(
                uid, _str(ev.get("role")), join_cjk(text), rules.normalize(text), _num(ev.get("start")),
                _num(ev.get("end")), timed,
            )
        elif kind == "prompt":
            call.prompts[_str(ev.get("prompt_id"))] = ev
        elif kind == "alert":
            call.alerts.setdefault(_str(ev.get("alert_id")), ev)
    return call


def _cards(call: _Call) -> list[_Card]:
    """Prompts in their last state, withdrawn ones left out, in time order."""
    out = []
    for pid, ev in call.prompts.items():
        if ev.get("action") == "withdraw":
            continue
        data = ev.get("data")
        span = ev.get("span")
        uid = _str(ev.get("utterance_id"))
        utt = call.utterances.get(uid)
        time = utt.start if utt is not None else _num(ev.get("audio_time"))
        out.append(_Card(pid, _str(ev.get("kind")), _str(ev.get("role")), uid, time,
                         data if isinstance(data, Mapping) else {}, span if isinstance(span, Mapping) else None))
    return sorted(out, key=lambda c: (c.time, c.prompt_id))


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


def _emotions(cards: Sequence[_Card]) -> list[tuple[_Card, str, float]]:
    out = []
    for c in cards:
        if c.kind == "emotion" and c.role in CALLER_ROLES:
            label = _str(c.data.get("label"))
            if label in NEGATIVE:
                out.append((c, label, _num(c.data.get("intensity"))))
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
    best: tuple[_Card, str, float] | None = None
    for item in _emotions(cards):
        if best is None or item[2] > best[2]:
            best = item
    if best is None:
        return None
    return EmotionMark(best[1], round(best[2], 2), _t(best[0].time))


def _category(cards: Sequence[_Card]) -> Category | None:
    """The intent suggested most often on caller utterances (ties: the earliest), and likewise its department."""
    intents: dict[str, int] = {}
    departments: dict[str, int] = {}
    for c in cards:
        if c.kind != "category" or not c.data.get("intent"):
            continue
        intent = _str(c.data.get("intent"))
        intents[intent] = intents.get(intent, 0) + 1
        if c.data.get("department"):
            dept = _str(c.data.get("department"))
            departments[dept] = departments.get(dept, 0) + 1
    if not intents:
        return None
    intent = max(intents, key=lambda k: intents[k])  # first inserted wins ties
    department = max(departments, key=lambda k: departments[k]) if departments else None
    return Category(intent, department)


def _word_time(utt: _Utterance | None, card: _Card) -> float:
    """When the banned words were said: the start of the word where the span begins."""
    if utt is None:
        return card.time
    span_text = _str((card.span or {}).get("text") or card.data.get("said"))
    joined = ""
    starts: list[tuple[int, float]] = []
    for word, start in utt.words:
        starts.append((len(joined), start))
        joined += word.replace(" ", "")
    pos = joined.find(span_text) if span_text else -1
    if pos < 0:
        offset = (card.span or {}).get("start")
        pos = offset if isinstance(offset, int) and 0 <= offset < len(joined) else -1
    if pos < 0 or not starts:
        return utt.start
    return max((s for i, s in starts if i <= pos), default=utt.start)


def _banned(call: _Call, cards: Sequence[_Card]) -> tuple[BannedUse, ...]:
    out = []
    for c in cards:
        if c.kind == "banned" and c.role in AGENT_ROLES:
            when = _word_time(call.utterances.get(c.utterance_id), c)
            out.append(BannedUse(_t(when) or 0.0, _str(c.data.get("said")), _str(c.data.get("rule")),
                                 _str(c.data.get("suggestion"))))
    return tuple(sorted(out, key=lambda b: (b.time, b.words, b.rule)))


def _referrals(cards: Sequence[_Card], agent: Sequence[_Utterance]) -> tuple[ReferralOffer, ...]:
    out: dict[str, ReferralOffer] = {}
    for c in cards:
        number = _str(c.data.get("number"))
        if c.kind != "referral" or not number or number in out:
            continue
        given = any(u.start >= c.time and number in u.norm for u in agent)
        out[number] = ReferralOffer(_t(c.time) or 0.0, number, _str(c.data.get("name")),
                                    _str(c.data.get("reason")), given)
    return tuple(out.values())


def _knowledge(cards: Sequence[_Card]) -> tuple[KnowledgeOffer, ...]:
    out: dict[str, KnowledgeOffer] = {}
    for c in cards:
        kid = _str(c.data.get("id"))
        if c.kind != "knowledge" or not kid or kid in out:
            continue
        score = c.data.get("score")
        out[kid] = KnowledgeOffer(_t(c.time) or 0.0, kid, _str(c.data.get("question")), _str(c.data.get("answer")),
                                  round(float(score), 3) if isinstance(score, int | float) else None)
    return tuple(out.values())


def _alerts(call: _Call) -> tuple[AlertNote, ...]:
    notes = [
        (_str(a.get("alert_id")), AlertNote(_t(_num(a.get("audio_time"))) or 0.0, _str(a.get("kind")),
                                            _str(a.get("severity")), _str(a.get("message"))))
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


def build_report(events: Iterable[Mapping[str, Any] | Event], rules: TrainingRules | None = None) -> TrainingReport:
    """The training report of one call from its event stream (see the module docstring)."""
    rules = rules or TrainingRules.load()
    call = _read(events, rules)
    utterances = sorted(call.utterances.values(), key=lambda u: (u.start, u.end, u.utterance_id))
    agent = [u for u in utterances if u.role in AGENT_ROLES]
    cards = _cards(call)
    end = max((u.end for u in utterances), default=0.0)
    counts: dict[str, int] = {}
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
        critical=tuple(a for a in alerts if a.kind == "critical" or a.severity == "critical"),
        alerts=alerts,
        crisis=_crisis(call, cards, agent),
    )
    return dataclasses.replace(report, suggestions=_suggestions(report))


_CRISIS_RULES: list[CrisisRules] = []


def _crisis(call: _Call, cards: Sequence[_Card], agent: Sequence[_Utterance]) -> CrisisCheck | None:
    """Crisis criteria from the first critical prompt on (None when no critical signal fired)."""
    critical = sorted((c for c in cards if c.kind == "critical"), key=lambda c: c.time)
    if not critical:
        return None
    if not _CRISIS_RULES:
        _CRISIS_RULES.append(CrisisRules.load())
    first = critical[0]
    said = call.utterances.get(first.utterance_id)
    since = said.start if said is not None else first.time
    numbers: list[str] = []
    for card in critical:
        refs = card.data.get("referrals")
        for n in refs if isinstance(refs, list | tuple) else ():
            if str(n) not in numbers:
                numbers.append(str(n))
    return judge(_CRISIS_RULES[0], since, numbers, [Said(u.text, u.norm, u.start, u.end) for u in agent])


# ---------------------------------------------------------------- stored calls


def stored_events(stored: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A stored call (``Store.get_call``) as the events ``build_report`` reads."""
    call = stored.get("call") or {}
    events: list[dict[str, Any]] = [{
        "type": "call_started", "call_id": call.get("call_id"), "agent_id": call.get("agent_id"),
        "mode": call.get("mode"),
    }]
    for u in stored.get("utterances") or ():
        events.append({
            "type": "transcript", "call_id": call.get("call_id"), "role": u.get("role"),
            "utterance_id": u.get("utterance_id"), "final": True, "text": u.get("text"), "start": u.get("start"),
            "end": u.get("end"), "words": u.get("words") or [],
        })
    for p in stored.get("prompts") or ():
        event = dict(p.get("event") or {})
        event["action"] = p.get("action", event.get("action"))  # a withdrawn row keeps its last shown content
        events.append(event)
    for a in stored.get("alerts") or ():
        events.append({"type": "alert", **a})
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
    roles = {"agent": "坐席", "caller": "来电人", "mixed": "通话"}
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
