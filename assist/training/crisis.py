"""Crisis criteria for the training report (data: ``assist/nlp/data/crisis.toml``).

A call in which a critical signal fired (self-harm, violence, an injury, a fire…) is not judged
by the routine closing and 办结时限 promise but by what a crisis needs: the caller's feelings
taken up, the caller kept on the line, the location asked, the transfer made (the crisis number
said, or 转接/三方).  ``CrisisRules.load()`` reads the items and the kinds of crisis (which numbers
each kind needs: ``assist.training.crisis_signs``); ``judge(rules, ...)`` checks the items in the
operator's words from the caller's critical utterance on (询问位置 from the caller's first crisis sign on,
never before it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.banned import PROMISE_KINDS, BannedList
from assist.nlp.data import DEFAULT_DATA_DIR, load_toml
from assist.nlp.referral import spoken_names, told
from assist.nlp.safety_questions import SafetyRules

DEFAULT_CRISIS = DEFAULT_DATA_DIR / "crisis.toml"
DEFAULT_KIND_NUMBERS = DEFAULT_DATA_DIR / "referrals.toml"  # its [crisis_kinds]: the numbers of each kind
SLACK = 1.0  # s: words said just before the critical utterance ended still count
OVERLAP = 0.5  # s: an operator line counts for the crisis items when it started at most this before the caller's words
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
        doc.check_keys({"define", "item", "kind", "model_mark", "ended", "routine"})
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
        routine.check_keys({"name", "expected", "patterns", "not_with"})
        not_with = routine.texts("not_with")
        if set(not_with) - {i.name for i in items}:
            raise routine.error(f"not_with names no [[item]]: {sorted(set(not_with) - {i.name for i in items})}")
        return cls(tuple(items), kinds, doc.text("model_mark", "(模型判断)"),
                   (ended.text("name"), ended.text("expected")) if ended.has("name") else None,
                   tuple(spoken_names(referrals).items()),
                   (ended.text("hung_up_name"), ended.text("hung_up_expected")) if ended.has("hung_up_name") else None,
                   ended.regex_list("hung_up", defines), ended.regex_list("still_there", defines),
                   Routine(routine.text("name"), routine.text("expected"), routine.regex_list("patterns", defines),
                           not_with) if routine.has("name") else None,
                   lapses.sent_away, frozenset(r.id for r in lapses.rules if r.category in PROMISE_KINDS))

    def hangs_up(self, caller_norm: str) -> bool:
        """The caller's words end the call (我不说了,挂了)."""
        return any(p.search(caller_norm) for p in self.hang_up_words)

    def into_dead_line(self, operator_norm: str) -> bool:
        """The operator calls into a line the caller has left (喂?您还在吗)."""
        return any(p.search(operator_norm) for p in self.still_there)


@dataclass(frozen=True, slots=True)
class CrisisItem:
    item: str
    done: bool
    time: float | None
    said: str | None
    expected: str


@dataclass(frozen=True, slots=True)
class CrisisCheck:
    time: float  # when the critical signal came
    numbers: tuple[str, ...]  # the crisis numbers the call's kind needs (of those offered: 12356, 110…)
    items: tuple[CrisisItem, ...]  # empty when the crisis is not confirmed
    confirmed: bool = True  # False: only a model guess the call did not confirm: not judged as a crisis
    kinds: tuple[str, ...] = ()  # the kinds of crisis the call showed (被困, 自伤自杀…), when known
    offered: tuple[str, ...] = ()  # every number the crisis cards offered
    note: str = ""  # why it was not judged as a crisis ("模型提示未确认: …")
    credits: tuple[CrisisItem, ...] = ()  # the optional items (确认安全) the operator did: credited, never findings
    ended: CrisisItem | None = None  # the call was closed before the transfer (crisis.toml [ended]): the first finding
    routine: CrisisItem | None = None  # handled as a routine matter before the transfer (crisis.toml [routine])


@dataclass(frozen=True, slots=True)
class Said:
    """One operator utterance: its display text, its normalised text, when it was said, and whether it carried a
    banned phrase that takes the caller's feelings away (``lapse``: a warning card other than a promise's)."""

    text: str
    norm: str
    start: float
    end: float
    lapse: bool = False


def judge(rules: CrisisRules, since: float, numbers: Sequence[str], agent: Sequence[Said],
          first_sign: float | None = None, kinds: Sequence[str] = ()) -> CrisisCheck:
    """The crisis items in the operator's utterances started after ``since`` (the critical utterance), or
    else, for an item marked ``earlier`` (询问位置), from ``first_sign`` on: the caller's first crisis sign (a
    safety card or a 绝望 reading before the crisis card; None: ``since``).  Nothing said before any crisis
    sign counts: a routine question (您住哪个区呢? about a 社保 matter) is no crisis step.  Each item is
    credited at the time the operator said it.  An item's expected wording is the one for the call's ``kinds``
    of danger, when it has one (``by_kind``)."""
    # said after the caller's words of danger began (new-user trial 7: 您别着急慢慢说, said just before the threat,
    # was credited as its 情绪承接); a line started within ``OVERLAP`` of them is the answer, spoken over the caller
    after = [u for u in agent if u.start >= since - OVERLAP]
    signs_on = [u for u in agent if u.end >= min(since, since if first_sign is None else first_sign) - SLACK]
    items = []
    credits = []
    for rule in rules.items:
        hit = next((u for u in after if rule.said_in(u.norm, numbers, kinds, rules.tells)
                    and not (rule.clean and u.lapse)), None)
        if hit is None and rule.earlier:  # asked after the crisis card is best (a caller may have moved)
            hit = next((u for u in signs_on if rule.said_in(u.norm, numbers, kinds, rules.tells)), None)
        if rule.optional:
            if hit is not None:
                credits.append(CrisisItem(rule.name, True, hit.start, hit.text, rule.wording(kinds)))
            continue
        wording = rule.wording(kinds).format(number=number_text(numbers))
        items.append(CrisisItem(rule.name, hit is not None, None if hit is None else hit.start,
                                None if hit is None else hit.text, wording))
    return CrisisCheck(since, tuple(numbers), tuple(items), credits=tuple(credits))


def ended_early(rules: CrisisRules, check: CrisisCheck, closed: Said | None, *, by_caller: bool = False) -> CrisisCheck:
    """``check`` with ``ended`` set when the operator's closing (``closed``: the first closing line near the call's
    end) came before the transfer item (``number = true``) was done, or with none done at all.  ``by_caller``: the
    caller's words ended the call (``closed`` is them): the finding is the caller's hang-up and the call-back."""
    names = {r.name for r in rules.items if r.number}  # the transfer item (number = true): 转接处置
    transfer = [item for item in check.items if item.item in names]
    wording = rules.hung_up if by_caller and rules.hung_up is not None else rules.ended
    if wording is None or closed is None or not transfer or closed.start < check.time:
        return check
    done = transfer[0].done and transfer[0].time is not None and transfer[0].time <= closed.start
    if done:
        return check
    name, expected = wording
    return dataclasses.replace(check, ended=CrisisItem(name, False, closed.start, closed.text,
                                                       expected.format(number=number_text(check.numbers))))


def routine_handling(rules: CrisisRules, check: CrisisCheck, agent: Sequence[Said]) -> CrisisCheck:
    """``check`` with ``routine`` set to the operator's first line from the crisis card on that handles the caller
    at risk as a routine matter (crisis.toml [routine]: a ticket, working days, 转交相关部门) before the transfer
    item was done; a line that also does a crisis item of ``[routine] not_with`` (transfers, asks the place, keeps the
    caller on the line) is no such line, nor the line that closed the call (``ended`` quotes it: the first finding)."""
    transfer = next((r for r in rules.items if r.number), None)
    routine = rules.routine
    if routine is None or transfer is None or not check.items:
        return check
    item = next((i for i in check.items if i.item == transfer.name), None)
    until = item.time if item is not None and item.done and item.time is not None else float("inf")
    closing = check.ended.time if check.ended is not None else None  # the closing line's start, as ended_early read it
    crisis_steps = [r for r in rules.items if r.name in routine.not_with]
    for u in sorted(agent, key=lambda s: (s.start, s.end)):
        if u.start < check.time - OVERLAP or u.start >= until or u.start == closing:
            continue  # before the caller's words of danger, after the transfer, or the closing line
        if (any(p.search(u.norm) for p in routine.patterns)
                and not any(r.said_in(u.norm, check.numbers, check.kinds, rules.tells) for r in crisis_steps)):
            wording = routine.expected.format(number=number_text(check.numbers))
            return dataclasses.replace(check, routine=CrisisItem(routine.name, False, u.start, u.text, wording))
    return check


def number_text(numbers: Sequence[str]) -> str:
    """The crisis numbers as the wording says them (110/12356), 110 when the crisis named none."""
    return "/".join(numbers) if numbers else "110"
