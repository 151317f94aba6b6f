"""Call-level decisions with hysteresis: the call's category, handling department, emotion and
knowledge answer — one source of truth that every card, script and alternative reads.

Each caller utterance gives a hint (its own category, department, emotion, knowledge answer); the
call's value changes only on clear evidence.  Earlier evidence fades each time the caller says
something new (``RECENCY``), so a call that opens with a quick question and then raises a dispute
becomes the dispute — but only once the new value outweighs the current one by ``SWITCH_MARGIN``
(one passing remark does not flip the call, two do).  A crisis (a critical signal) makes the call
求助 and keeps it there.  Praise said while the caller is upset (你们效率真高啊, 真是太负责了) is
sarcasm, not 表扬: it adds no weight to 表扬.  A question (咨询) once the call is a request (一般诉求,
投诉举报, 求助) is mostly about that request (那多久能修好, 这事到底归谁管): it weighs ``FOLLOW_UP`` against
the requests' evidence together, so three follow-ups do not turn a complaint into 咨询 (trial 4, f6: the ticket was
filed as 咨询 and the empathy card's deadline gave way to 我现在为您查询确认 just when the caller asked for the
deadline; trial 10: a complaint read as 投诉举报 then 一般诉求 became 咨询 on its last line, 明天要是还吵我还打);
a caller who moves on to questions of their own still makes the call 咨询 after four.

Department: a hint weighs what the analysis scored it (楼下 0.5, 楼梯 1, 拖欠工资 2); the call has
a department only once one reaches ``DEPARTMENT_FLOOR`` (one vague word such as 楼下 or 小区 does
not make a fire call 住建's).  The unit the operator names as handling the matter (去社保局问,
归住建管) is the call's department at once (``name``): the operator knows the dispatch rules.  A
crisis call's department is the one its crisis number is for (119 → 应急管理).

Emotion (``CallMood``): a running level that decays as the caller calms down; its label is a
``Sticky`` over the negative emotions weighted by intensity, so 愤怒 does not flip to 焦虑 on one
utterance; below ``CALM_BELOW`` the call is calm again (and the next negative emotion counts
afresh).  A short turn without evidence (``call_level.hint_weights``) moves the level, not the label.

Knowledge (``CallKnowledge``): the answer shown for the call is replaced only by one that is
clearly better — its score at least ``KB_MARGIN`` times the current answer's faded score — or by
one for the call's department when the current answer is not (the call moved to a new matter);
never by an answer for another department than the call's.  While the caller is still speaking (a
partial), an answer is shown only from ``KB_PARTIAL_MIN`` and replaces a shown one only by ``KB_MARGIN``: a
weak first guess (邻里纠纷 at 21 % on 快快我邻居家的…) does not flash before the crisis card, nor a 28 %
answer over an 83 % one.  A follow-up keeps the call's answer (trial 3, e5: 那多久能拿到钱 after a 99 %
欠薪 answer found 失业金 at 61 %): an answer that is not itself ``KB_CONFIDENT`` never replaces a
``KB_CONFIDENT`` one of the call's department, and an utterance that also finds the call's answer (a tie
under the search's ceiling) keeps it unless its top answer is itself ``KB_CONFIDENT`` and ahead of the
call's answer in that utterance by ``KB_LEAD`` (trial 4, f6: 我就想问维修基金到底怎么用 found 维修基金 at
99 % and the call's 物业纠纷 at 86 %: a new explicit question replaces the card); an utterance that does
not find the call's answer replaces it with a ``KB_CONFIDENT`` answer ``KB_LEAD`` above its faded weight.  A short
follow-up whose topic words the call's confident answer already covers (``covers``: 那要体检吗 after the
driver-licence answer that names the 体检) is about that answer (trial 4, f5; ``call_level.py``).

``LiveAssist`` (assist/live/prompts.py) folds every final caller utterance in BEFORE it builds the
utterance's cards, so the cards and the ``call_state`` sent with them say the same.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from assist.protocol.enums import Category, Emotion

RECENCY = 0.6  # weight kept by earlier evidence each time the caller says something new
SWITCH_MARGIN = 2.0  # a new value must outweigh the call's current one this many times
UPSET = 0.4  # the call's running negative-emotion level above which praise reads as sarcasm
DEPARTMENT_FLOOR = 1.0  # evidence a department needs before it is the call's
OPERATOR_WEIGHT = 4.0  # evidence of a unit the operator named as handling the matter
LEVEL_DECAY = 0.85  # per caller utterance decay of the running emotion level
CALM_BELOW = 0.3  # running level under which the call's emotion is the caller's current one again
KB_MARGIN = 1.5  # a new knowledge answer must score this many times the current one's faded score
KB_PARTIAL_MIN = 0.4  # a knowledge answer found on a partial is shown only from this score (the final decides)
KB_CONFIDENT = 0.75  # an answer matched this well is the call's matter: only another as confident replaces it
FOLLOW_UP = 0.3  # weight of a question (咨询) once the call is a request (see the module)
REQUESTS = frozenset({Category.GENERAL, Category.COMPLAINT, Category.HELP})
KB_LEAD = 0.1  # ... and, when the utterance also finds the call's answer, only one ahead of it by this much
KB_UNIT_WEIGHT = 1.5  # evidence of the unit a confident knowledge answer's entry names (a word hint weighs 1)

K = TypeVar("K", Category, str, Emotion)


@dataclass
class Sticky(Generic[K]):
    """One call-level value with fading evidence, a switching margin and an evidence floor."""

    scores: dict[K, float] = field(default_factory=dict)
    current: K | None = None
    pinned: bool = False
    floor: float = 0.0

    def fade(self) -> None:
        for k in self.scores:
            self.scores[k] *= RECENCY

    def add(self, key: K, weight: float = 1.0, *, fade: bool = True, side: Collection[K] = ()) -> None:
        self.add_all(((key, weight),), fade=fade, side=side)

    def add_all(self, items: tuple[tuple[K, float], ...], *, fade: bool = True, side: Collection[K] = ()) -> None:
        """Several hints of one utterance: earlier evidence fades once, then the value is decided.  ``side``: values
        that count together against a switch away from a current value among them (the requests, against a
        follow-up question)."""
        if fade:
            self.fade()
        for key, weight in items:
            self.scores[key] = self.scores.get(key, 0.0) + weight
        if self.pinned or not self.scores:
            return
        best = max(self.scores, key=lambda k: self.scores[k])
        if self.scores[best] < self.floor:
            return
        held = self.scores.get(self.current, 0.0) if self.current is not None else 0.0
        if self.current in side:
            held = sum(self.scores.get(k, 0.0) for k in side)
        if self.current is None or (best != self.current and self.scores[best] >= SWITCH_MARGIN * held):
            self.current = best

    def pin(self, key: K) -> None:
        """Decide the value for the rest of the call (a crisis is 求助 whatever follows)."""
        self.current = key
        self.pinned = True

    def clear(self) -> None:
        self.scores.clear()
        self.current = None


@dataclass
class CallTopic:
    """The call's category and department, decided for the whole call."""

    category: Sticky[Category] = field(default_factory=Sticky)
    department: Sticky[str] = field(default_factory=lambda: Sticky(floor=DEPARTMENT_FLOOR))

    def fold(
        self,
        intent: Category | None,
        department: str | None,
        *,
        critical: bool,
        upset: float,
        negative_now: bool,
        department_weight: float = 1.0,
        crisis_department: str | None = None,
        answer_unit: str | None = None,
    ) -> None:
        """One final caller utterance: its category and department hints (the department weighing
        ``department_weight``), whether it raised a critical signal (and the department its crisis
        number is for), the call's running negative-emotion level and its own emotion; ``answer_unit``: the
        unit its confident knowledge answer's entry names, weighed with the words' hint."""
        if intent is not None:
            sarcasm = intent == Category.PRAISE and (negative_now or upset >= UPSET)
            follow_up = intent == Category.CONSULTATION and self.category.current in REQUESTS
            if not sarcasm:  # a follow-up weighs against the requests together (see the module)
                self.category.add(intent, FOLLOW_UP if follow_up else 1.0, side=REQUESTS if follow_up else ())
        hints = ((department, department_weight),) if department else ()
        if answer_unit:  # the unit a confident knowledge answer's entry names (call_level.answer_unit)
            hints = (*hints, (answer_unit, KB_UNIT_WEIGHT))
        if hints:
            self.department.add_all(hints)
        if critical and not self.category.pinned:
            self.category.pin(Category.HELP)
            if crisis_department is not None:
                self.department.pin(crisis_department)

    def name(self, department: str) -> None:
        """The operator named ``department``'s unit as handling the matter: it is the call's now."""
        if self.department.pinned:
            return
        self.department.add(department, OPERATOR_WEIGHT, fade=False)
        self.department.current = department


@dataclass
class CallMood:
    """The caller's emotion over the call: a decaying level and a label with hysteresis."""

    level: float = 0.0
    label: Emotion = Emotion.CALM
    negative: Sticky[Emotion] = field(default_factory=Sticky)

    def fold(self, label: Emotion, intensity: float, *, relabel: bool = True) -> None:
        """One caller final's emotion.  ``relabel`` False (a short filler turn without evidence): it moves
        the level but adds no weight to another negative emotion than the call's."""
        decayed = self.level * LEVEL_DECAY
        if label.negative and not relabel and self.label.negative and label != self.label:
            label = self.label
        if label.negative:
            self.negative.add(label, intensity)
            self.level = max(intensity, decayed)
            self.label = self.negative.current or label
            return
        self.level = decayed
        if self.level < CALM_BELOW:
            self.label = label
            self.negative.clear()

    @property
    def upset(self) -> float:
        """The running level when the call's emotion is negative, else 0."""
        return self.level if self.label.negative else 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    """A knowledge answer as call state knows it."""

    id: str
    score: float
    department: str | None
    text: str = ""  # the entry's question and answer: what a follow-up may ask about (``covers``)


@dataclass
class CallKnowledge:
    """The knowledge answer shown for the call; replaced only by a clearly better one."""

    current: Answer | None = None
    weight: float = 0.0  # the current answer's score, faded for each caller utterance not finding it

    def better(self, candidate: Answer, call_department: str | None, *, partial: bool = False,
               found: dict[str, float] | None = None) -> bool:
        """Whether ``candidate`` should replace the call's answer (True also when it is the same).  On a
        ``partial`` (words still coming) an answer must reach ``KB_PARTIAL_MIN`` and, with an answer
        shown, clearly beat it: a weak guess never flashes over a stronger answer.  ``found``: every
        answer the utterance found (id -> score); when the call's answer is among them, it stays unless
        ``candidate`` is ``KB_CONFIDENT`` and ahead of it there by ``KB_LEAD``.  Otherwise a ``KB_CONFIDENT``
        candidate ahead of the call's answer's (faded) weight by ``KB_LEAD`` replaces it."""
        cur = self.current
        if partial and candidate.score < KB_PARTIAL_MIN:
            return False
        if cur is None or candidate.id == cur.id:
            return True
        if call_department is not None and candidate.department not in (None, call_department):
            return False  # an answer for another department than the call's does not replace its answer
        if found is not None and cur.id in found:  # the same words scored both: compared like for like
            return candidate.score >= KB_CONFIDENT and candidate.score >= found[cur.id] + KB_LEAD
        if candidate.score >= KB_CONFIDENT and candidate.score >= self.weight + KB_LEAD:
            return True  # a new question answered more confidently than the call's answer now stands
        if cur.score >= KB_CONFIDENT and candidate.score < KB_CONFIDENT \
                and cur.department in (None, call_department):
            return False  # a weak follow-up match does not replace a confident answer of the call's matter
        if candidate.score >= KB_MARGIN * self.weight:
            return True
        moved = not partial and call_department is not None and cur.department != call_department
        return moved and candidate.department == call_department

    def covers(self, words: tuple[str, ...]) -> bool:
        """The call's answer is ``KB_CONFIDENT`` and its entry names every one of ``words`` (a follow-up's
        topic words: 体检 in the driver-licence answer's 体检结果可电子回传)."""
        cur = self.current
        return cur is not None and cur.score >= KB_CONFIDENT and bool(words) and all(w in cur.text for w in words)

    def fold(self, found: tuple[str, ...]) -> None:
        """A final caller utterance found the answers ``found`` (ids): the current one fades unless among them."""
        if self.current is not None and self.current.id not in found:
            self.weight *= RECENCY

    def adopt(self, answer: Answer) -> None:
        if self.current is None or answer.id != self.current.id:
            self.current, self.weight = answer, answer.score
        else:
            self.weight = max(self.weight, answer.score)

    def drop(self, answer_id: str) -> None:
        if self.current is not None and self.current.id == answer_id:
            self.current, self.weight = None, 0.0
