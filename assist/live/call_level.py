"""What one call has come to, folded from its final utterances: the caller's emotion, the call's category,
department and knowledge answer (``call_state.py``), and the crisis — its numbers, whether it is an
emotional crisis (no emergency number raised it) and the department its crisis number is for.

``LiveAssist`` (``prompts.py``) folds each final utterance in before it builds that utterance's cards, and
fills the empathy scripts from this state, so every card, script and ``call_state`` agree.

Evidence (``hint_weights``): an utterance moves the call's category and department only when it carries
enough of it — the rules found words for the hint, or the learned model is at least ``CONFIDENT`` sure and
the utterance has at least ``MIN_CONTENT`` characters.  A short closing or filler turn (哼那你说怎么办,
行那我等你们电话谢谢啊) moves neither, nor relabels the call's emotion.

Follow-up (``follow_up``): a short caller final (under ``MIN_CONTENT`` characters) whose department words the
call's confident knowledge answer itself names (那要体检吗去哪里体检 after 驾驶证快到期了怎么换证, whose answer
covers the 体检) is a question about that answer: it moves neither the call's department (体检 → 卫健 made the
rest of trial 4's f5 卫健's) nor its knowledge answer, and it counts as finding that answer.

Crisis (``crisis.py``): one reason, kind of danger and list of numbers for the call.  Only emergency
numbers stand on the crisis card (the urgent ones of referrals.toml and the numbers of its
``[crisis_kinds]``: 110, 119, 120, 122, 12356), never a matter hotline said in the words (社保 → 12333);
their order is kept for the call once shown.  The call's 承办 is the department of its first crisis
number (119 → 应急管理, 120 → 卫健), again when the call's kind of danger changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assist.live.call_state import KB_CONFIDENT, CallKnowledge, CallMood, CallTopic
from assist.live.card_life import KB_STRONG
from assist.live.crisis import CallCrisis, CrisisKinds, CrisisReading, KindCard, shipped_kinds
from assist.live.first_aid import CallAid
from assist.live.handling_unit import HandlingUnits, NamedUnit
from assist.nlp.analyzer import Analysis
from assist.nlp.crisis_rules import CrisisRules, shipped_crisis_rules
from assist.nlp.empathy import EmpathyScripts
from assist.nlp.referral import Referral, ReferralTable, told
from assist.protocol.enums import Emotion, Role

REPORTER = "报告人"  # crisis_kinds.toml's cards for a caller reporting someone else's danger
CONFIDENT = 0.6  # learned probability a hint needs when the rules found no words for it
MIN_CONTENT = 12  # characters an utterance needs before a hint without words of the rules moves the call


@dataclass(frozen=True, slots=True)
class HintWeights:
    """How much one caller final's hints weigh for the call (0: the hint does not move it)."""

    category: float
    department: float

    @property
    def informative(self) -> bool:
        return self.category > 0 or self.department > 0


def hint_weights(r: Analysis) -> HintWeights:
    """The evidence of ``r``'s category and department hints.  An utterance is informative when it has
    ``MIN_CONTENT`` characters, or the rules found words placing its matter (a department's words), or it
    matched a knowledge answer strongly (``KB_STRONG``).  Its category then weighs 1 when the learned
    model (if any) is ``CONFIDENT``; its department weighs the rules' score for it, else 1 likewise."""
    informative = (len("".join(r.normalized.text.split())) >= MIN_CONTENT or bool(r.evidence.get("department"))
                   or any(k.score >= KB_STRONG for k in r.knowledge[:1]))
    learned = r.scores.get("learned", {})

    def weight(head: str, value: str | None, rules: float) -> float:
        if value is None or not informative:
            return 0.0
        if rules > 0:
            return rules
        return 1.0 if learned.get(head, 1.0) >= CONFIDENT else 0.0

    category = weight("category", r.intent, 0.0)
    department = weight("department", r.department, r.scores.get("department", {}).get(r.department or "", 0.0))
    return HintWeights(category, department)


@dataclass
class CallLevel:
    """The call-level state of one call and how a final utterance moves it."""

    units: HandlingUnits
    referrals: ReferralTable | None = None  # the referral table (crisis order, matter hotlines)
    mood: CallMood = field(default_factory=CallMood)  # the caller's emotion over the call
    topic: CallTopic = field(default_factory=CallTopic)  # category and department decided for the call
    knowledge: CallKnowledge = field(default_factory=CallKnowledge)  # the call's knowledge answer
    kinds: CrisisKinds = field(default_factory=shipped_kinds)  # crisis_kinds.toml
    crisis: CallCrisis = field(init=False)  # the call's crisis: reason, kind of danger, numbers
    critical: bool = False
    referral_names: dict[str, str] = field(default_factory=dict)
    reporter: bool = False  # the caller reported someone else's danger (crisis_kinds.toml [reporter])
    victim: bool = False  # a caller line showed the caller is the one in danger ([reporter] not_when)
    aid: CallAid = field(default_factory=CallAid)  # first steps the caller's words called for (first_aid.toml)
    told: list[str] = field(default_factory=list)  # emergency numbers the operator said (``handed``: the card's)
    urgent: bool = False  # a caller's line told of a matter to handle at once (Analysis.urgent: 急办)
    criteria: CrisisRules = field(default_factory=shipped_crisis_rules)  # crisis.toml: 询问位置's words
    place_asked: bool = False  # the operator's last final asked where: the caller's next one gives an address

    def __post_init__(self) -> None:
        self.crisis = CallCrisis(self.kinds, self.referrals)

    @property
    def crisis_numbers(self) -> list[str]:
        """The call's crisis numbers, in the crisis card's order."""
        return self.crisis.numbers

    def enter_crisis(self, reading: CrisisReading, utterance_id: str | None = None) -> tuple[str, ...]:
        """A critical utterance: fold its reading into the call's crisis; the crisis card's numbers.  When
        the call's kind of danger changes, its 承办 follows the new lead number."""
        self.critical = True
        if self.crisis.stood_down is not None:  # a danger after a stand-down is a new crisis (and a new alert)
            self.crisis = CallCrisis(self.kinds, self.referrals, named=self.crisis.named)
        self.crisis.danger_again()
        changed = self.crisis.take(reading, utterance_id)
        numbers = self.crisis.card(reading)
        department = self.crisis_department()
        if changed and self.topic.department.pinned and department is not None:
            self.topic.department.pin(department)
        return numbers

    def hear_caller(self, norm: str) -> None:
        """A caller's words (normalised, partial or final): the kinds of danger they name (crisis.toml ``caller``:
        出不来 is 被困, 打我 暴力) stay with the call — a crisis whose caller named another kind never stands down on a
        correction (``CallCrisis.correctable``)."""
        self.crisis.named.update(k.name for k in self.criteria.kinds if k.said_by_caller(norm))

    def about_crisis(self, question: str, score: float) -> bool:
        """Whether a knowledge answer (its entry's ``question``, matched at ``score``) is about the call's
        danger and stays on screen through the crisis: matched ``KB_CONFIDENT`` and its question names the
        call's kind of danger by that kind's own words (家里有煤气味，怀疑燃气泄漏怎么办 in a gas-leak
        crisis).  Anything else is noise beside the crisis card (a 医保 answer during a heart attack)."""
        kind, numbers = self.crisis.kind, tuple(self.crisis.numbers)
        if score < KB_CONFIDENT or kind is None or not numbers:
            return False
        # a kind that any words of its numbers give (12356 → 自伤自杀) is no evidence about the question
        return self.kinds.of_numbers(numbers, question) == kind and self.kinds.of_numbers(numbers, "") != kind

    def crisis_department(self) -> str | None:
        """The department of the call's first crisis number that has one (119 → 应急管理)."""
        return next((d for d in map(self.units.department_of_referral, self.crisis.numbers) if d is not None), None)

    def fold(self, role: Role, r: Analysis | None, named: NamedUnit | None) -> None:
        """A final utterance moves the call's state: the caller's hints, the operator's named unit."""
        if named is not None:
            self.topic.name(named.department)
        if r is not None and role.is_agent:
            self.hear_operator(r.normalized.text)
        if r is None or not role.is_caller:
            return
        weights = hint_weights(r)
        follow_up = self.follow_up(r)
        # (only once the call has a unit: a first line that answers 您是哪个区的 and tells the matter still places it)
        address = self.place_asked and self.topic.department.current is not None
        self.place_asked = False
        # a question about the call's answer, or a further route (起诉, 律师 in a 欠薪 call), or the address asked for
        # (new-user trial 10: 五一大道和韶山路交叉口那个地铁站的工地 moved a noise call's 承办 to 交通): not its 承办
        if follow_up or address or self.asks_route(r):
            weights = HintWeights(weights.category, 0.0)
        self.victim = self.victim or self.kinds.in_danger(r.normalized.text)  # then never a report (隔壁阿姨来了)
        self.reporter = not self.victim and (self.reporter or self.kinds.reports_other(r.normalized.text))
        self.urgent = self.urgent or r.urgent
        label = r.emotion.label if r.emotion is not None else Emotion.CALM
        intensity = r.emotion.intensity if r.emotion is not None else 0.0
        self.mood.fold(label, intensity, relabel=weights.informative or r.critical)
        crisis_department = self.crisis_department() if r.critical else None
        # a weak reading of the words (交通 0.51 on 驾驶证到期怎么换证) gives way to the answer's unit too
        unit = self.answer_unit(r) if not follow_up and weights.informative else None
        unit = unit if unit != r.department else None  # it corrects another reading, it does not add to the same
        for ref in r.referrals:
            self.referral_names.setdefault(ref.number, ref.name)
        self.topic.fold(r.intent if weights.category > 0 else None,
                        r.department if weights.department > 0 else None,
                        critical=r.critical, upset=self.mood.upset, negative_now=label.negative,
                        department_weight=weights.department, crisis_department=crisis_department,
                        answer_unit=unit)
        answer = self.knowledge.current
        self.knowledge.fold(tuple(k.id for k in r.knowledge) + ((answer.id,) if follow_up and answer else ()))

    def hear_operator(self, said: str) -> None:
        """The operator's final: a crisis number it tells the caller or transfers to (``told``: the number whole,
        幺二零 being 120 in the normalised text, after a word of dialling or transferring, not negated) counts as
        told, so a supervisor sees whether an ended crisis call was handed on (trial 6, M11).  A phone number or a
        house number read back (13812034567, 幸福路120号) and 您先别打120 do not (stop 16's review)."""
        tells = self.referrals.tells if self.referrals is not None else told
        self.place_asked = self.criteria.asks_place(said)
        if self.criteria.asks(said):  # a transfer offered as a question (需要给您转接120吗) tells nothing yet: the
            return  # training report's rule too (the review of stop 22)
        # once the crisis stands, any emergency number, not only the card's now: one the crisis adds later was told
        # already (new-user trial 8: 我马上为您转接120 while the card said 119 only, then 未告知 120 · 请立即回拨
        # after a transferred call); before it, nothing (紧急情况请拨打120 in a greeting is no hand-on)
        known = sorted(self.referrals.emergency_numbers) if self.referrals is not None and self.crisis.active else []
        numbers = (*self.crisis.numbers, *known)
        self.told += [n for n in dict.fromkeys(numbers) if n not in self.told and tells(n, said)]

    @property
    def handed(self) -> tuple[str, ...]:
        """The call's crisis numbers the operator told, in the card's order (one the crisis no longer needs is not)."""
        return tuple(n for n in self.crisis.numbers if n in self.told)

    @property
    def owed(self) -> tuple[str, ...]:
        """The call's crisis numbers the caller is still owed: not told, nor told another of a kind where one is
        enough (被困: 119 or 110; ``CrisisRules.told_instead``, the training report's rule as well)."""
        kinds = (*self.crisis.kind_names, *sorted(self.crisis.joined))
        return tuple(n for n in self.crisis.numbers
                     if n not in self.told and self.criteria.told_instead(n, self.told, kinds) is None)

    def answer_unit(self, r: Analysis) -> str | None:
        """The unit of the utterance's ``KB_CONFIDENT`` knowledge answer, when its entry names one of ours: the
        centre's knowledge base knows who handles the matter (trial 4, f5: 驾驶证快到期了怎么换证 is 公安's, 车管所;
        model 20261206-f7c7a8b5 read the words as 交通's).  ``fold`` weighs it only against another reading: added
        to the same one it made the call's first matter outweigh the next (a 公积金 call kept 住建 and refused the
        路灯 answer of its second matter)."""
        top = r.knowledge[0] if r.knowledge else None
        if top is None or top.score < KB_CONFIDENT or not top.department:
            return None
        unit = self.units.units.get(top.department)
        return unit if unit is not None and unit not in self.units.routes else None

    def follow_up(self, r: Analysis) -> bool:
        """A short caller utterance whose department words (``r.evidence``) the call's confident knowledge
        answer names: a follow-up about that answer, not a new matter (``CallKnowledge.covers``)."""
        if len("".join(r.normalized.text.split())) >= MIN_CONTENT:
            return False
        words = tuple(dict.fromkeys(s.text for s in r.evidence.get("department", ()) if s.text))
        return self.knowledge.covers(words)

    def on_route(self, department: str | None) -> bool:
        """``department`` is a further route (units.toml ``routes``: 司法) while the call's matter is another
        department's: asking about suing or legal aid adds 12348, it does not move the matter."""
        current = self.topic.department.current
        return department in self.units.routes and current is not None and current != department

    def asks_route(self, r: Analysis) -> bool:
        """``r`` places its matter at a route department only by words of the route (起诉, 律师: units.toml
        ``route_words``) while the call has another department: it adds the route, the matter stays."""
        words = [s.text for s in r.evidence.get("department", ())]
        return self.on_route(r.department) and bool(words) and all(w in self.units.route_words for w in words)

    def further_route(self, number: str) -> tuple[str, str] | None:
        """(reason, script) of ``number`` offered as a further route beside the call's matter (12348 in a
        欠薪 call: not 不在12345受理范围), or None when the number is not one here."""
        if self.referrals is None:
            return None
        return self.referrals.aside(number) if self.on_route(self.units.department_of_referral(number)) else None

    def kind_card(self, kind: str | None, number: str, *, crisis: bool) -> KindCard | None:
        """The card of ``number`` in a call of danger ``kind`` (crisis_kinds.toml [cards]); for a crisis number
        in a call whose caller reports someone else's danger, the reporter's card when the kind has none, names only
        its reason (走失/110) or speaks to the person in danger (``victim``: 暴力/110's 请您先到安全的地方、锁好门)."""
        fit = self.kinds.card(kind, number)
        if crisis and self.reporter and (fit is None or fit.victim or not fit.script):
            return self.kinds.card(REPORTER, number) or fit
        return fit

    def matter_number(self) -> str | None:
        """The hotline of the call's matter (its department and category, ``[department_numbers]``)."""
        if self.referrals is None:
            return None
        category = self.topic.category.current
        ref = self.referrals.for_matter(self.topic.department.current, category.value if category else None)
        return ref.number if ref is not None else None

    def crisis_wording(self, ref: Referral) -> str:
        """What to read for ``ref`` given as one of the call's crisis numbers: its row's ``crisis_script`` (the
        operator connects the call, as the crisis checklist and the empathy script say), else its script."""
        row = self.referrals.get(ref.number, crisis=True) if self.referrals is not None else None
        return row.script if row is not None else ref.script

    def is_matter_number(self, number: str) -> bool:
        """A hotline of a matter (12315, 12333: ``[department_numbers]``), not an emergency or a legal route."""
        return self.referrals is not None and self.referrals.is_matter_number(number)

    def is_matter_hotline(self, ref: Referral) -> bool:
        """A hotline the analysis gave for the utterance's matter, not for words said (no span)."""
        return ref.span is None and self.referrals is not None and self.referrals.is_matter_number(ref.number)

    def empathy_steps(self, scripts: EmpathyScripts | None, label: Emotion, intensity: float,
                      numbers: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The empathy script for ``label`` filled from the call's state: its crisis and kind of danger (a
        flood victim is not told 请您冷静…不要做伤害自己和他人的事), its numbers (the call's crisis numbers
        first, then ``numbers``, the utterance's referrals), each named by what it is for."""
        if scripts is None:
            return ()
        offered = tuple(dict.fromkeys((*self.crisis.numbers, *numbers)))
        return tuple(scripts.scripts(
            emotion=label, intensity=intensity, intent=self.topic.category.current,
            department=self.topic.department.current, critical=self.crisis.active, referrals=offered,
            kind=self.script_kind, urgent=self.urgent,
        ))

    @property
    def script_kind(self) -> str | None:
        """The kind of danger the empathy script is chosen by: 报告人 (empathy.toml) for a caller reporting someone
        else's danger of a kind whose scripts speak to the person in danger (crisis_kinds.toml [reporter]
        ``scripts``: 不方便说话时您只回答是或不是 is not for the neighbour who heard a child beaten, new-user trial
        10; 我能感受到您现在非常难受 not for a passer-by who saw someone climb over a railing, the review of stop
        22), else the call's."""
        kind = self.crisis.kind
        return REPORTER if self.reporter and kind in self.kinds.reporter_scripts else kind


def distinct(referrals: tuple[Referral, ...]) -> tuple[Referral, ...]:
    """``referrals`` without a routine number whose words lie inside another routine number's words: the same
    words read twice, the longer reading wins (健身房突然关门了,老板也联系不上 is 12315's; its 老板也联系不上 is
    not 12333's wage case: the fifth trial, f).  Emergency and critical numbers are always kept."""
    def inside(a: Referral, b: Referral) -> bool:
        return (a.span is not None and b.span is not None and b.span.start <= a.span.start
                and a.span.end <= b.span.end and b.span.end - b.span.start > a.span.end - a.span.start)

    routine = [x for x in referrals if not (x.urgent or x.critical)]
    return tuple(x for x in referrals if x.urgent or x.critical or not any(inside(x, y) for y in routine if y is not x))
