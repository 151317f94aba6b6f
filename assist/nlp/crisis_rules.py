"""The crisis criteria of ``assist/nlp/data/crisis.toml``: what a crisis needs of the operator (the caller's feelings
taken up, the caller kept on the line, the location asked, the transfer made), the kinds of crisis and which numbers
each needs (``[crisis_kinds]`` of referrals.toml), how a call ends before the transfer, and what handling the caller
at risk as a routine matter sounds like (``[routine]``).

Read by the training report (``assist.training.crisis`` judges a call by them) and by live assist (a nudge when the
operator answers a caller at risk with a ticket: ``CrisisRules.routine_words``), so both go by one definition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assist.nlp.banned import PROMISE_KINDS, BannedList
from assist.nlp.data import DEFAULT_DATA_DIR, load_toml
from assist.nlp.referral import spoken_names, told
from assist.nlp.safety_questions import SafetyRules

DEFAULT_CRISIS = DEFAULT_DATA_DIR / "crisis.toml"
DEFAULT_KIND_NUMBERS = DEFAULT_DATA_DIR / "referrals.toml"  # its [crisis_kinds]: the numbers of each kind
SAFETY_QUESTION = "您现在安全吗?"  # when referrals.toml has no [safety_questions] default


@dataclass(frozen=True, slots=True)
class CrisisRule:
    name: str
    expected: str
    patterns: tuple[re.Pattern[str], ...]
    number: bool
    earlier: bool = False  # words said before the critical utterance, from the first crisis sign on, count too
    optional: bool = False  # credited when done, never a finding when missing (确认安全)
    safety: tuple[re.Pattern[str], ...] = ()  # safety_check.toml's questions, when the item takes them too
    by_kind: tuple[tuple[str, str], ...] = ()  # (kind of danger, its own expected wording): a gas leak is not a despair
    kind_patterns: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = ()  # (kind, what credits the item then)
    unless: tuple[re.Pattern[str], ...] = ()  # a line with these never does the item (a wrap-up question)
    clean: bool = False  # only a line with no lapse does it (您先别激动 is no 情绪承接)

    def wording(self, kinds: Sequence[str]) -> str:
        """The expected wording for a call of ``kinds``: its leading kind's own, else ``expected`` (a suicidal
        caller who took pills, 自伤自杀 and 医疗急症, keeps the despair wording)."""
        return dict(self.by_kind).get(kinds[0], self.expected) if kinds else self.expected

    def said_in(self, norm: str, numbers: Sequence[str], kinds: Sequence[str],
                tells: Callable[[str, str], bool]) -> bool:
        """Whether one operator utterance (normalised) does this item (in a call whose leading kind of danger has
        patterns of its own, those: a gas leak's caller is kept safe by leaving the room, not by staying on).  The
        transfer item (``number``) is also done by telling one of ``numbers`` (``tells``: the live pin's rule, so a
        phone number read back, 13812034567, never credits 120)."""
        if any(p.search(norm) for p in self.unless):
            return False
        patterns = dict(self.kind_patterns).get(kinds[0], self.patterns) if kinds else self.patterns
        return (any(p.search(norm) for p in patterns) or any(p.search(norm) for p in self.safety)
                or (self.number and any(tells(n, norm) for n in numbers)))


@dataclass(frozen=True, slots=True)
class CrisisKind:
    """A kind of crisis: the numbers it needs, and how the call shows it is this kind."""

    name: str
    numbers: tuple[str, ...]  # referrals.toml [crisis_kinds]
    reasons: tuple[re.Pattern[str], ...]  # on the reason of a crisis card the rules raised
    caller: tuple[re.Pattern[str], ...]  # on the caller's own words
    one_of: bool  # any one of the numbers is enough
    # a model guess of this kind the call did not confirm is still checked like a safety card (自伤自杀:
    # an indirect farewell is how the guess often comes): did the operator ask about the caller's safety?
    ask_unconfirmed: bool = False
    question: str = SAFETY_QUESTION  # that safety question: referrals.toml [safety_questions] of the kind

    def named_in(self, reason: str) -> bool:
        return self.name in reason or any(p.search(reason) for p in self.reasons)

    def said_by_caller(self, norm: str) -> bool:
        return any(p.search(norm) for p in self.caller)


@dataclass(frozen=True, slots=True)
class Routine:
    """crisis.toml [routine]: the finding's name and wording, the words of routine handling (工单, 三个工作日内回复您)
    and the crisis items a line of routine handling does not do (``not_with``: 询问位置, 转接处置…)."""

    name: str
    expected: str
    patterns: tuple[re.Pattern[str], ...]
    not_with: tuple[str, ...]
    asking: tuple[re.Pattern[str], ...] = ()  # a line with these asks, it does not transfer (需要转接110吗 您说话)


@dataclass(frozen=True, slots=True)
class CrisisRules:
    items: tuple[CrisisRule, ...]
    kinds: tuple[CrisisKind, ...] = ()
    model_mark: str = "(模型判断)"
    ended: tuple[str, str] | None = None  # [ended]: (name, expected) of closing a call before the transfer
    spoken: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (number, names an operator transfers to it by)
    hung_up: tuple[str, str] | None = None  # [ended] hung_up_name/_expected: the caller hung up before it
    hang_up_words: tuple[re.Pattern[str], ...] = ()  # the caller's words ending the call (我不说了,挂了)
    still_there: tuple[re.Pattern[str], ...] = ()  # the operator into a dead line (喂?您还在吗)
    routine: Routine | None = None  # [routine]: handling the caller at risk as a routine matter
    alone: tuple[re.Pattern[str], ...] = ()  # banned.toml's words sending a caller to dial alone (``sent_away``)
    promises: frozenset[str] = frozenset()  # banned.toml's rules of a vague or absolute promise (``PROMISE_KINDS``)
    # [linked]: a number that hands the call on for others too (the centre's joint dispatch: 110 for 119)
    linked: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def tells(self, number: str, norm: str, names: tuple[str, ...] = (), *, crisis: bool = True) -> bool:
        """Whether the operator's normalised words tell or transfer to ``number`` (by number, spoken name or one of
        ``names``: a card's 心理援助热线): ``assist.nlp.referral.told``, the rule of the live pin's 已告知.  In a
        ``crisis`` (a crisis number of a confirmed crisis) a caller sent to hang up and dial alone is not told; on a
        routine matter 您直接打122吧 is plain advice that tells the number (the review of stop 20)."""
        return told(number, norm, (*dict(self.spoken).get(number, ()), *names), self.alone if crisis else ())

    @classmethod
    def load(cls, path: Path | None = None, kind_numbers: Path | None = None,
             safety_questions: Path | None = None, banned: Path | None = None) -> CrisisRules:
        """Read ``crisis.toml``, the numbers of each kind (``[crisis_kinds]`` of referrals.toml) and, from banned.toml
        (``banned``, else the one beside the referral table), the words that send a caller to dial alone
        (``BannedList.sent_away``: no number is told in them) and the rules of a promise (a warning of one takes no
        feeling away).
        Raises ``DataError`` naming the file and the entry."""
        doc = load_toml(path or DEFAULT_CRISIS)
        doc.check_keys({"define", "item", "kind", "model_mark", "ended", "routine", "linked"})
        defines = doc.defines()
        items = []
        safety_patterns: tuple[re.Pattern[str], ...] | None = None
        for table in doc.tables("item"):
            table.check_keys({"name", "expected", "patterns", "number", "earlier", "optional", "safety", "by_kind",
                              "kind_patterns", "unless", "clean"})
            safety: tuple[re.Pattern[str], ...] = ()
            if table.boolean("safety", False):
                if safety_patterns is None:
                    safety_patterns = SafetyRules.load(safety_questions).patterns  # `safety = true`: these too
                safety = safety_patterns
            patterns = table.regex_list("patterns", defines)
            if not patterns and not safety and not table.boolean("number", False):
                raise table.error("needs 'patterns', 'safety = true' or 'number = true'")
            own = table.table("by_kind", required=False)
            by_kind = tuple((kind, own.text(kind)) for kind in own.raw)
            special = table.table("kind_patterns", required=False)
            kind_patterns = tuple((kind, special.regex_list(kind, defines)) for kind in special.raw)
            items.append(CrisisRule(table.text("name"), table.text("expected"), patterns,
                                    table.boolean("number", False), table.boolean("earlier", False),
                                    table.boolean("optional", False), safety, by_kind, kind_patterns,
                                    table.regex_list("unless", defines), table.boolean("clean", False)))
        table_path = kind_numbers or DEFAULT_KIND_NUMBERS
        referrals = load_toml(table_path)
        numbers_doc = referrals.table("crisis_kinds", required=False)
        numbers = {kind: numbers_doc.texts(kind) for kind in numbers_doc.raw}
        questions_doc = referrals.table("safety_questions", required=False)
        questions = {kind: questions_doc.text(kind) for kind in questions_doc.raw}
        default = questions.get("default", SAFETY_QUESTION)
        described: dict[str, CrisisKind] = {}
        for table in doc.tables("kind", required=False):
            table.check_keys({"name", "reasons", "caller", "one_of", "ask_unconfirmed"})
            name = table.text("name")
            if name not in numbers:
                raise table.error(f"{name!r} is not a kind of [crisis_kinds] in referrals.toml "
                                  f"({', '.join(numbers)})")
            described[name] = CrisisKind(name, numbers[name], table.regex_list("reasons", defines),
                                         table.regex_list("caller", defines), table.boolean("one_of", False),
                                         table.boolean("ask_unconfirmed", False), questions.get(name, default))
        # a kind without an entry is known by the model's guesses only (its name in the card's reason)
        kinds = tuple(described.get(k) or CrisisKind(k, n, (), (), False, False, questions.get(k, default))
                      for k, n in numbers.items())
        ended = doc.table("ended", required=False)
        ended.check_keys({"name", "expected", "hung_up_name", "hung_up_expected", "hung_up", "still_there"})
        lapses = BannedList.load(banned) if banned is not None else BannedList.beside(table_path)
        routine = doc.table("routine", required=False)
        routine.check_keys({"name", "expected", "patterns", "not_with", "asking"})
        linked = doc.table("linked", required=False)
        emergency = {n for ns in numbers.values() for n in ns}
        for number in linked.raw:
            if unknown := sorted({number, *linked.texts(number)} - emergency):
                raise linked.error(f"{number!r}: {', '.join(unknown)} is no number of [crisis_kinds] in referrals.toml")
        not_with = routine.texts("not_with")
        if set(not_with) - {i.name for i in items}:
            raise routine.error(f"not_with names no [[item]]: {sorted(set(not_with) - {i.name for i in items})}")
        return cls(tuple(items), kinds, doc.text("model_mark", "(模型判断)"),
                   (ended.text("name"), ended.text("expected")) if ended.has("name") else None,
                   tuple(spoken_names(referrals).items()),
                   (ended.text("hung_up_name"), ended.text("hung_up_expected")) if ended.has("hung_up_name") else None,
                   ended.regex_list("hung_up", defines), ended.regex_list("still_there", defines),
                   Routine(routine.text("name"), routine.text("expected"), routine.regex_list("patterns", defines),
                           not_with, routine.regex_list("asking", defines)) if routine.has("name") else None,
                   lapses.sent_away, frozenset(r.id for r in lapses.rules if r.category in PROMISE_KINDS),
                   tuple((number, linked.texts(number)) for number in linked.raw))

    def routine_words(self, norm: str, numbers: Sequence[str], kinds: Sequence[str]) -> str | None:
        """The words by which one operator utterance (normalised) handles a caller at risk as a routine matter
        ([routine]: a ticket, working days, 转交相关部门), or None: none, or the same line also does a crisis step of
        ``not_with`` (keeps the caller on the line, asks the place, transfers to one of ``numbers``)."""
        routine = self.routine
        if routine is None:
            return None
        found = next((m.group(0) for p in routine.patterns if (m := p.search(norm))), None)
        if not found:
            return None
        steps = [r for r in self.items if r.name in routine.not_with]
        return None if any(r.said_in(norm, numbers, kinds, self.tells) for r in steps) else found

    def told_instead(self, number: str, told: Collection[str], kinds: Sequence[str]) -> tuple[str, str] | None:
        """(the number, why it is enough) told in place of ``number``: one of the same kind of ``kinds`` where one
        number is enough (``one_of``: 119 or 110 for 被困), or one the centre's joint dispatch hands on for it
        (``[linked]``: 110 for 119 — new-user trial 12 was told to call back for 119 after the operator had told 110
        and transferred 120 in a fire with people hurt), or None.  The one rule of the live overlay's and the
        supervisor's end line (未告知 … 请回访) and the training report's 已告知同类号码 (new-user trial 9: they
        disagreed)."""
        for kind in self.kinds:
            if kind.name in kinds and kind.one_of and number in kind.numbers:
                other = next((n for n in kind.numbers if n != number and n in told), None)
                if other is not None:
                    return other, f"{kind.name}告知其中一个号码即可"
        other = next((n for n, covers in self.linked if n != number and n in told and number in covers), None)
        return (other, "联动处置") if other is not None else None

    @property
    def linking(self) -> frozenset[str]:
        """The numbers whose telling may hand others on (``[linked]``): the training report checks them too."""
        return frozenset(n for n, _ in self.linked)

    def asks_place(self, norm: str) -> bool:
        """Whether one operator utterance (normalised) asks where (the item marked ``earlier``, 询问位置:
        具体位置是哪里, 在哪个路口)."""
        return any(p.search(norm) for r in self.items if r.earlier for p in r.patterns)

    def asks(self, norm: str) -> bool:
        """Whether one operator utterance (normalised) asks rather than states ([routine] ``asking``): a transfer
        offered as a question (您看需要给您转接110吗) is not yet the transfer that ends the live nudges."""
        return self.routine is not None and any(p.search(norm) for p in self.routine.asking)

    def transfers(self, norm: str, numbers: Sequence[str], kinds: Sequence[str]) -> bool:
        """Whether one operator utterance (normalised) does the transfer item (``number = true``: 转接处置)."""
        return any(r.said_in(norm, numbers, kinds, self.tells) for r in self.items if r.number)

    def hangs_up(self, caller_norm: str) -> bool:
        """The caller's words end the call (我不说了,挂了)."""
        return any(p.search(caller_norm) for p in self.hang_up_words)

    def into_dead_line(self, operator_norm: str) -> bool:
        """The operator calls into a line the caller has left (喂?您还在吗)."""
        return any(p.search(operator_norm) for p in self.still_there)


def number_text(numbers: Sequence[str]) -> str:
    """The crisis numbers as the wording says them (110/12356), 110 when the crisis named none."""
    return "/".join(numbers) if numbers else "110"


@cache
def shipped_crisis_rules() -> CrisisRules:
    """The shipped crisis.toml (and the referral table and banned.toml beside it), read once."""
    return CrisisRules.load()
