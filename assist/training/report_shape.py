"""The shape of a training report (``assist.training.report``): typed, and its one JSON form (``to_dict``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from assist.protocol.enums import AlertKind, CallMode, Category, Emotion, Role, Severity
from assist.training.crisis import CrisisCheck
from assist.training.safety import SafetyCheck


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
    judged: bool = True  # False: not asked of this call (the closing of a crisis call)


@dataclass(frozen=True, slots=True)
class LateStep:
    """A step done, but not in the operator's first reply after the caller showed emotion."""

    after: float  # seconds from the caller's emotion to the step
    turns: int  # the operator's utterances in between (that did not do it)
    banned: int  # how many of those had a banned phrase


@dataclass(frozen=True, slots=True)
class StepCheck:
    step: str  # 情绪承接 / 责任表态 / 行动承诺
    done: bool
    time: float | None
    said: str | None
    expected: str
    notes: tuple[str, ...] = ()  # why a cue did not count (no time given, hedged)
    late: LateStep | None = None  # done, but late (情绪承接 only: training.toml [empathy] late_turns)


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
    reason: str  # why the assistant offered it (for the operator, not the caller)
    script: str  # what the operator says to the caller: the referral card's wording (referrals.toml)
    given: bool  # the operator said the number (or its name) once the caller's need arose (assist.training.offers)
    excused: str = ""  # not given but not a finding either: why (模型提示未确认, 不适用, 已告知 119…)
    given_time: float | None = None  # given: when the operator said it (not when the card came)
    given_said: str | None = None  # given: the operator's words that said it


@dataclass(frozen=True, slots=True)
class KnowledgeOffer:
    time: float
    id: str
    question: str
    answer: str
    score: float | None
    withdrawn: bool = False  # shown, then taken off the screen (a crisis started, a newer answer): still seen


@dataclass(frozen=True, slots=True)
class Unanswered:
    """知识库有答案而坐席答不知道: the operator disclaimed knowing (a 推脱不知 lapse) right after a caller
    question for which the knowledge base had a confident answer (``assist.training.unanswered``)."""

    time: float  # when the operator said it (the start of the banned words)
    said: str  # the operator's words (the banned span)
    asked_time: float  # the start of the caller's question
    asked: str  # the caller's question
    id: str  # the knowledge entry that answered it
    question: str  # its question
    answer: str
    score: float


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
    repeats: int = 0  # how many more times the same alert (kind, severity, message) came later in the call


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
    safety: tuple[SafetyCheck, ...] = ()  # each safety card: did the operator ask about the caller's safety
    unanswered: tuple[Unanswered, ...] = ()  # the operator said 不知道 while the knowledge base had the answer

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
            "critical": [{"time": a.time, "message": a.message, "repeats": a.repeats} for a in self.critical],
            "alerts": [_plain(a) for a in self.alerts],
            "suggestions": list(self.suggestions),
            "crisis": _plain(self.crisis),
            "safety": [_plain(q) for q in self.safety],
            "unanswered": [_plain(u) for u in self.unanswered],
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
