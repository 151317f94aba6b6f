"""What the analysis of one utterance gives (``Analysis``) and what a call remembers of its caller's earlier
utterances (``CallContext``): the types the analyzer facade (``analyzer.py``) and the learned path
(``refine.py``, ``features.py``) share, in a module of their own so that neither imports the other for them.
``assist.nlp.analyzer`` re-exports them (docs/analysis.md).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from assist.nlp.banned import BannedHit
from assist.nlp.kb import KbHit
from assist.nlp.normalize import Normalized
from assist.nlp.referral import Referral
from assist.protocol.enums import Category, Emotion, Role
from assist.protocol.events import Span


@dataclass(frozen=True, slots=True)
class EmotionReading:
    """The caller's emotion in one utterance: its label and intensity (0-1)."""

    label: Emotion
    intensity: float


@dataclass(frozen=True, slots=True)
class UtteranceRecord:
    """What a ``CallContext`` remembers of one caller utterance."""

    emotion: str
    intensity: float
    escalation_signs: tuple[str, ...]
    intent: str | None
    department: str | None
    critical: bool
    numbers: tuple[str, ...] = ()  # the referral numbers of a critical utterance (12356, 110…)
    flagged: bool = False  # a sign of danger at either tier (the crisis card, or the safety question)
    strong: bool = False  # a sign the rules found (a critical signal, or despair in the words): not a model guess
    threat: bool = False  # the caller threatens to hurt someone (emotion.toml violence / threat_armed)
    soft: bool = False  # a soft sign (refine: hyperbole, a routine request): no first sign; asked about, it counts
    kind: str | None = None  # the kind of danger of a sign (the safety question's), for the caller's answer


ANSWER_TURNS = 2  # caller utterances after the operator's safety question that may answer it (唉 — 想过)


class CallContext:
    """Earlier caller utterances of one call (bounded).  Not shared between calls.

    ``Analyzer.analyze(..., context=ctx, utterance_id=uid)`` reads the history and
    then records the new analysis under ``uid``: re-analysing the same utterance
    (a growing partial, then its final) replaces its record instead of adding one.
    """

    def __init__(self, max_utterances: int = 200) -> None:
        self.max_utterances = max_utterances
        self._records: OrderedDict[str, UtteranceRecord] = OrderedDict()
        self._auto = 0
        self._asked: frozenset[str] = frozenset()  # the utterances before the operator's last safety question
        self._question = False  # the operator has asked a safety question in this call, not yet answered no
        self._danger_question = False  # ... and the last one's yes means danger (有没有伤害自己的想法)
        self._explicit = False  # ... and the last one was a safety question as such (not any question after a sign)
        self.moving = False  # the caller told of a move or a new number in this call (WeakSigns.moves)

    def history(self, exclude: str | None = None) -> list[UtteranceRecord]:
        """Records in call order, without utterance ``exclude``."""
        return [r for uid, r in self._records.items() if uid != exclude]

    def stand_down(self, numbers: tuple[str, ...]) -> None:
        """The operator confirmed the caller's correction of the call's danger (live assist, crisis_kinds.toml
        ``[corrections]``): the signs of it so far — the critical ones (a crisis that stands down never had another
        kind: ``CallCrisis.correctable``, so they were its own, or guesses it never took up) and those whose numbers
        are all the stood-down crisis's (``numbers``) — were a misjudgement, and no longer an earlier sign for the next
        words (new-user trial 13: after a gas smell turned out to be fish, the closing 算了算了 我自己跟他说吧 谢谢你啊
        had the gas signs to build a red self-harm card on).  A safety question's sign of another danger stays (the
        review of stop 24)."""
        for uid, r in self._records.items():
            if r.critical or (r.flagged and set(r.numbers) <= set(numbers)):
                self._records[uid] = dataclasses.replace(r, critical=False, numbers=(), flagged=False, strong=False,
                                                         threat=False, soft=False, kind=None)

    def new_id(self) -> str:
        """A fresh utterance id for an utterance that came without one."""
        self._auto += 1
        return f"#{self._auto}"

    def get(self, utterance_id: str) -> UtteranceRecord | None:
        return self._records.get(utterance_id)

    def record(self, record: UtteranceRecord, utterance_id: str | None = None) -> None:
        if utterance_id is None:
            utterance_id = self.new_id()
        self._records[utterance_id] = record
        while len(self._records) > self.max_utterances:
            self._records.popitem(last=False)

    @property
    def department(self) -> str | None:
        """The most recent department recognised in the caller's words."""
        for rec in reversed(self._records.values()):
            if rec.department is not None:
                return rec.department
        return None

    @property
    def crisis_numbers(self) -> tuple[str, ...] | None:
        """The numbers of the call's critical utterances; None while no critical signal fired."""
        critical = [r for r in self._records.values() if r.critical]
        if not critical:
            return None
        return tuple(dict.fromkeys(n for r in critical for n in r.numbers))

    def forget(self, utterance_id: str) -> None:
        """The utterance came to nothing (an empty final): its partial's record goes."""
        self._records.pop(utterance_id, None)

    def danger_seen(self, exclude: str | None = None) -> bool:
        """An earlier caller utterance (not ``exclude``) gave a sign of danger, or despair the rules found (the
        model's own reading of 绝望 is no sign: it read 我娃儿明年要在这边读书急得很 as despair, trial 2 d5)."""
        return any(r.critical or (r.flagged and not r.soft) or r.strong for r in self.history(exclude))

    def asked_sign(self, exclude: str | None = None) -> UtteranceRecord | None:
        """The newest flagged utterance (a soft sign included) the operator has since asked about, when
        ``exclude`` came after the question (it is the answer); else None."""
        if exclude is not None and exclude in self._asked:
            return None
        asked = [r for uid, r in self._records.items() if uid != exclude and uid in self._asked and r.flagged]
        return asked[-1] if asked else None

    def any_sign(self) -> bool:
        """Any caller utterance gave a sign, a soft one included: the operator's own question may be about it."""
        return any(r.flagged or r.critical or r.strong for r in self.history())

    def safety_asked(self, *, danger: bool = False, explicit: bool = True) -> None:
        """The operator asked about the caller's safety (您现在安全吗…): the caller's next words answer it.
        ``danger``: the question's yes means danger (您现在有没有伤害自己的想法), not safety; ``explicit``: a safety
        question as such, not any question of the operator's after a sign (阿姨您这话是什么意思啊)."""
        self._asked = frozenset(self._records)
        self._question, self._danger_question, self._explicit = True, danger, explicit

    def asked_since(self, utterance_id: str) -> bool:
        """The operator's last safety question came after utterance ``utterance_id``."""
        return utterance_id in self._asked

    @property
    def asked_about_danger(self) -> bool:
        """The operator's last safety question was one whose yes means danger."""
        return self._danger_question

    def answers_question(self, utterance_id: str | None) -> bool:
        """``utterance_id`` is one of the caller's first two utterances since the operator's last safety question
        (唉 — 想过), and no answer since has said no."""
        if not self._question or utterance_id is None or utterance_id in self._asked:
            return False
        since = [uid for uid in self._records if uid not in self._asked]
        return utterance_id not in since or since.index(utterance_id) < ANSWER_TURNS

    def question_closed(self) -> None:
        """The caller said no to the operator's safety question (没有没有): a later 嗯 answers something else."""
        self._question = False

    @property
    def threat(self) -> bool:
        """The caller threatened to hurt someone (the rules' words): de-escalation wording is the protocol
        (banned.toml ``deescalation``)."""
        return any(r.threat for r in self._records.values())

    def danger_confirmed(self, exclude: str | None = None) -> bool:
        """An earlier caller utterance (not ``exclude``) gave real evidence of danger: a crisis card, a sign
        the rules found (their despair included: ``strong``), or a weak sign the operator then asked about
        (``exclude`` is the answer).  A model's reading of 绝望 alone is not evidence: it read 我娃儿明年要在这边读书
        急得很 as despair (trial 2, d5)."""
        asked = self.asked_sign(exclude)
        # a soft sign asked about by any question (a model guess on routine words: 公积金销户要怎么办, then the
        # operator's routine 请问您是离职了还是要离开本市) is no evidence for a later sign, only the caller's yes to it
        # (refine.apply); asked about by a safety question as such, it is
        return (any(r.critical or r.strong for uid, r in self._records.items() if uid != exclude)
                or (asked is not None and (not asked.soft or self._explicit)))

    def __len__(self) -> int:
        return len(self._records)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Result of one utterance; ``to_dict`` is the documented JSON."""

    role: Role
    text: str
    normalized: Normalized
    intent: Category | None = None
    department: str | None = None
    emotion: EmotionReading | None = None
    referrals: tuple[Referral, ...] = ()
    banned: tuple[BannedHit, ...] = ()
    knowledge: tuple[KbHit, ...] = ()
    empathy: tuple[str, ...] = ()
    critical: bool = False  # a crisis: the crisis card and crisis mode
    critical_reason: str | None = None
    safety_question: str | None = None  # a weaker signal (learned, or the rules' 气话): ask this, no crisis mode
    urgent: bool = False  # a matter to handle at once (急办): an urgent number, a safety question, a hazard's words
    escalation: bool = False
    escalation_reasons: tuple[str, ...] = ()  # ids: emotion.toml's signs and the context's (sustained_anger …)
    escalation_why: tuple[str, ...] = ()  # what the words' signs say (emotion.toml reasons: 扬言上访或越级反映)
    evidence: dict[str, tuple[Span, ...]] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)

    def source_span(self, span: Span) -> tuple[int, int]:
        """Offsets of ``span`` (normalised text) in the original ``text``."""
        return self.normalized.source_span(span.start, span.end)

    def to_dict(self) -> dict[str, Any]:
        def spans(items: tuple[Span, ...]) -> list[dict[str, Any]]:
            return [{"text": s.text, "start": s.start, "end": s.end} for s in items]

        return {
            "intent": self.intent,
            "department": self.department,
            "emotion": None if self.emotion is None else {
                "label": self.emotion.label, "intensity": round(self.emotion.intensity, 3)},
            "referrals": [r.to_dict() for r in self.referrals],
            "banned": [b.to_dict() for b in self.banned],
            "knowledge": [
                {"id": k.id, "question": k.question, "answer": k.answer, "score": round(k.score, 3),
                 "department": k.department, "source": k.source, "updated": k.updated}
                for k in self.knowledge
            ],
            "empathy": list(self.empathy),
            "role": self.role,
            "normalized": self.normalized.text,
            "critical": self.critical,
            "critical_reason": self.critical_reason,
            "safety_question": self.safety_question,
            "escalation": self.escalation,
            "escalation_reasons": list(self.escalation_reasons),
            "evidence": {k: spans(v) for k, v in self.evidence.items() if v},
        }
