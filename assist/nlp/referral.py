"""Referral numbers (``data/referrals.toml``): out-of-scope matters and emergencies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assist.nlp.banned import BannedList
from assist.nlp.data import Table, load_toml
from assist.nlp.matcher import Entry, PhraseMatcher
from assist.nlp.negation import clause_before
from assist.protocol.events import Span

_NUMBER = re.compile(r"^[0-9]{3,8}$")


DENIAL_REST = 6  # letters a denial of danger may carry besides its own words (没有没有,就是问问)


# A number told, the one rule of live assist's pin and the training report: the number whole (not 13812034567 or
# 120号) or a spoken name (急救中心), not negated (别打120, 请不要打120, 不需要打120) nor asked about (打过120吗)
# - after a word of dialling, transferring or sending, a few words between (拨打120, 马上帮您转接急救中心, 叫了120);
_DIAL = r"(?:拨打|拨|打|转接|转到|转给|接通|联系|呼叫|报警|通知|致电|叫了|叫辆|叫个|派)"
# - right after a word of giving or asking (请110民警过去, 转幺幺零, 可以问12333, 咨询12348, 向12315投诉, 帮您报110,
#   社保电话12333, 号码,12356), never 请问, 申请, 问题, 转交 or 转账
_GIVE = r"(?:(?<![请申邀])请|(?<!请)问问|(?<!请)问一下|可以问|去问|咨询|找|向|报|转)"
_NUMBER_IS = r"(?:热线|电话|号码)是?[,:]?"  # the number itself, not a name (不挂电话民警马上就到)
_NEGATED = re.compile(r"(?:(?:别|不用|不要|不必|不需要|没必要|先不)[^,.!?;]{0,3}|没有?)$")  # before the verb
_ASKED = re.compile(r"别|不用|不要|过")  # between the verb and the number: 打不要打120, 打过120吗
_NOT_NAME = r"(?!通道|栓|设施|知识|培训|器材|人员|队伍)"  # 消防通道, 急救知识: the name of no one to call


def told(number: str, said: str, names: tuple[str, ...] = (), alone: tuple[re.Pattern[str], ...] = ()) -> bool:
    """Whether the operator's normalised words ``said`` tell or transfer to ``number``, or to one of its spoken
    ``names`` (转接急救中心, 帮您联系派出所: referrals.toml ``spoken``).  Not inside words of ``alone``: a caller sent
    to hang up and dial alone (您先挂了马上打110) is neither told nor transferred (new-user trial 8: the report
    credited 你先挂了自己打110吧 as 转接处置); they are banned.toml's rules marked ``not_told``
    (``BannedList.sent_away``), the warning's own words."""
    whole = f"(?<!\\d){re.escape(number)}(?!\\d|号|室|栋|楼|单元|路|元|块)"
    target = "|".join([whole, *(f"{re.escape(n)}{_NOT_NAME}" for n in names if n)])
    pattern = f"(?:{_DIAL}(?P<gap>[^,.!?;]{{0,6}}?)|{_GIVE}(?:一下)?(?:给)?(?:您)?)(?:{target})|{_NUMBER_IS}{whole}"
    away = [m.span() for p in alone for m in p.finditer(said)]
    return any(not _NEGATED.search(said[:m.start()]) and not _ASKED.search(m.group("gap") or "")
               and not any(start < m.end() and m.start() < end for start, end in away)
               for m in re.finditer(pattern, said))


def spoken_names(doc: Table) -> dict[str, tuple[str, ...]]:
    """Each ``[[referral]]`` row's ``spoken`` names (急救中心 for 120), by number: the one reading of them that live
    assist's ``ReferralTable`` and the training report's crisis check (``assist.training.crisis``) share."""
    return {row.text("number"): row.texts("spoken") for row in doc.tables("referral") if row.has("spoken")}


@dataclass(frozen=True, slots=True)
class ReferralInfo:
    """One row of the referral table."""

    number: str
    name: str
    reason: str
    script: str
    urgent: bool = False
    critical_reason: str | None = None
    crisis_script: str | None = None  # what to read when the number is given for a danger to life
    aside: tuple[str, str] | None = None  # (reason, script) as a further route beside a matter 12345 handles
    model_confident: bool = False  # the learned referral head alone gives it only above its confident threshold
    spoken: tuple[str, ...] = ()  # how an operator names it when transferring (急救中心 for 120): live assist's `told`


@dataclass(frozen=True, slots=True)
class Referral:
    """A referral suggested for one utterance, with the words that triggered it.

    ``critical`` is set when a critical trigger matched (a life-threatening
    emergency in progress: fire, someone unconscious, a missing child…)."""

    number: str
    name: str
    reason: str
    script: str
    urgent: bool = False
    span: Span | None = None
    critical: bool = False
    critical_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"number": self.number, "name": self.name, "reason": self.reason,
                               "script": self.script, "urgent": self.urgent, "critical": self.critical}
        if self.span is not None:
            out.update(span=self.span.text, start=self.span.start, end=self.span.end)
        return out


@dataclass(frozen=True, slots=True)
class _Key:
    number: str
    critical: bool


@dataclass(frozen=True, slots=True)
class Timing:
    """When an emergency is over, it needs no emergency number (``[timing]``).

    A trigger of an urgent number is ignored when its sentence, before it, has a
    ``past`` marker (去年/上次…) and no ``present`` marker (现在/正在…), when it is the
    if-part of a procedure question (its own clause, just before it, matches a ``hypothetical`` pattern,
    万一/要是/如果…, with no ``present`` marker there, an ``asked`` pattern matches right after it and no
    ``not_after`` pattern anywhere after it: 万一电梯困人了物业多久要到), when it is
    directly followed by an ``after`` pattern (中风过), or when the utterance after it
    matches a ``resolved`` pattern (找到了/救回来了…).
    """

    past: tuple[re.Pattern[str], ...] = ()
    present: tuple[re.Pattern[str], ...] = ()
    resolved: tuple[re.Pattern[str], ...] = ()
    after: tuple[re.Pattern[str], ...] = ()
    window: int = 30
    hypothetical: tuple[re.Pattern[str], ...] = ()
    clause: int = 10  # how far before the trigger, in its clause, a hypothetical marker counts
    asked: tuple[re.Pattern[str], ...] = ()  # right after the trigger: the procedure asked about
    not_after: tuple[re.Pattern[str], ...] = ()  # ... and none of these in the rest of the utterance (现在, 我…)

    def over(self, text: str, start: int, end: int) -> bool:
        if any(p.match(text, end) for p in self.after):
            return True
        clause = clause_before(text, start, self.clause)
        if (any(p.search(clause) for p in self.hypothetical) and not any(p.search(clause) for p in self.present)
                and any(p.match(text, end) for p in self.asked)
                and not any(p.search(text, end) for p in self.not_after)):
            return True
        before = _sentence_before(text, start, self.window)
        if any(p.search(before) for p in self.past):
            sentence = before + text[start:_sentence_end(text, end)]
            if not any(p.search(sentence) for p in self.present):
                return True
        after = text[end:]
        return any(p.search(after) for p in self.resolved)


_SENTENCE_BREAK = re.compile(r"[.!?;]")


def _sentence_before(text: str, start: int, window: int) -> str:
    pre = text[max(0, start - window):start]
    cut = None
    for m in _SENTENCE_BREAK.finditer(pre):
        cut = m.end()
    return pre[cut:] if cut is not None else pre


def _sentence_end(text: str, end: int) -> int:
    m = _SENTENCE_BREAK.search(text, end)
    return m.start() if m else len(text)


def _aside(entry: Table) -> tuple[str, str] | None:
    """A row's ``aside_reason`` and ``aside_script``: both or neither."""
    if entry.has("aside_reason") != entry.has("aside_script"):
        raise entry.error("'aside_reason' and 'aside_script' go together")
    return (entry.text("aside_reason"), entry.text("aside_script")) if entry.has("aside_reason") else None


class ReferralTable:
    """Compiled referral triggers; ``find`` lists the referrals an utterance calls for."""

    def __init__(self, rows: list[tuple[ReferralInfo, list[Entry[_Key]]]], timing: Timing | None = None,
                 crisis_kinds: dict[str, tuple[str, ...]] | None = None,
                 safety_questions: dict[str, str] | None = None,
                 department_numbers: dict[str, str] | None = None,
                 denials: tuple[re.Pattern[str], ...] = (), retractions: tuple[re.Pattern[str], ...] = (),
                 alone: tuple[re.Pattern[str], ...] = ()) -> None:
        self.rows: dict[str, ReferralInfo] = {info.number: info for info, _ in rows}
        self.timing = timing or Timing()
        self.crisis_kinds: dict[str, tuple[str, ...]] = crisis_kinds or {}
        self.safety_questions: dict[str, str] = safety_questions or {}
        self.department_numbers: dict[str, str] = department_numbers or {}
        self.denials: tuple[re.Pattern[str], ...] = denials
        self.retractions: tuple[re.Pattern[str], ...] = retractions  # 我就是随口一说: the words taken back
        self.alone = alone  # words sending the caller to dial alone: no number told in them (``told``)
        # the numbers a crisis card may name: the urgent ones and every number of a kind of danger (12356)
        self.emergency_numbers = frozenset({info.number for info, _ in rows if info.urgent}
                                           | {n for numbers in self.crisis_kinds.values() for n in numbers})
        self._order = {info.number: i for i, (info, _) in enumerate(rows)}
        self._matcher: PhraseMatcher[_Key] = PhraseMatcher([e for _, entries in rows for e in entries])

    @classmethod
    def load(cls, path: Path, alone: tuple[re.Pattern[str], ...] | None = None) -> ReferralTable:
        """Read ``referrals.toml``; ``alone``: banned.toml's words that send a caller to dial alone
        (``BannedList.sent_away``), in which no number is told; None: those of the banned.toml beside ``path``, else
        the shipped one (never none at all: the live pin and the report must not disagree with the warning)."""
        if alone is None:
            alone = BannedList.beside(path).sent_away
        doc = load_toml(path)
        doc.check_keys({"referral", "define", "timing", "crisis_kinds", "safety_questions", "department_numbers",
                        "safety_answers"})
        defines = doc.defines()
        tim = doc.table("timing", required=False)
        tim.check_keys({"past", "present", "resolved", "after", "window", "hypothetical", "clause", "asked",
                        "not_after"})
        timing = Timing(tim.regex_list("past", defines), tim.regex_list("present", defines),
                        tim.regex_list("resolved", defines), tim.regex_list("after", defines),
                        int(tim.number("window", 30, lo=1, hi=200)), tim.regex_list("hypothetical", defines),
                        int(tim.number("clause", 10, lo=1, hi=40)), tim.regex_list("asked", defines),
                        tim.regex_list("not_after", defines))
        rows: list[tuple[ReferralInfo, list[Entry[_Key]]]] = []
        seen: set[str] = set()
        spoken = spoken_names(doc)
        for entry in doc.tables("referral"):
            entry.check_keys({"number", "name", "reason", "script", "urgent", "words", "patterns", "not_in",
                              "critical_words", "critical_patterns", "critical_reason", "fuzzy", "crisis_script",
                              "aside_reason", "aside_script", "model_confident", "spoken"})
            number = entry.text("number")
            if not _NUMBER.match(number):
                raise entry.error(f"'number' must be 3 to 8 digits, got {number!r}")
            if number in seen:
                raise entry.error(f"number {number} is listed twice")
            seen.add(number)
            critical_words = entry.texts("critical_words")
            critical_patterns = entry.regex_list("critical_patterns", defines)
            has_critical = bool(critical_words or critical_patterns)
            if has_critical and not entry.has("critical_reason"):
                raise entry.error("'critical_words'/'critical_patterns' need a 'critical_reason'")
            info = ReferralInfo(number, entry.text("name"), entry.text("reason"), entry.text("script"),
                                entry.boolean("urgent"),
                                entry.text("critical_reason") if entry.has("critical_reason") else None,
                                entry.text("crisis_script") if entry.has("crisis_script") else None,
                                _aside(entry), entry.boolean("model_confident"), spoken.get(number, ()))
            not_in = entry.texts("not_in")
            entries = [Entry(_Key(number, False), entry.texts("words"), entry.regex_list("patterns", defines), not_in)]
            if has_critical:  # `fuzzy`: critical words are also matched by sound (recognizer slips)
                entries.append(Entry(_Key(number, True), critical_words, critical_patterns, not_in,
                                     entry.boolean("fuzzy")))
            rows.append((info, entries))
        kinds = doc.table("crisis_kinds", required=False)
        crisis_kinds = {kind: kinds.texts(kind) for kind in kinds.raw}
        for kind, numbers in crisis_kinds.items():
            unknown = [n for n in numbers if n not in seen]
            if unknown or not numbers:
                raise kinds.error(f"crisis kind {kind!r} must list numbers of the table, got {list(numbers)}")
        questions = doc.table("safety_questions", required=False)
        safety_questions = {kind: questions.text(kind) for kind in questions.raw}
        if questions.raw and "default" not in safety_questions:
            raise questions.error("needs a 'default' question")
        matters = doc.table("department_numbers", required=False)
        department_numbers = {key: matters.text(key) for key in matters.raw}
        for key, number in department_numbers.items():
            if key.count("/") != 1 or number not in seen:
                raise matters.error(f"{key!r} must be 'department/category' with a number of the table, got {number!r}")
        answers = doc.table("safety_answers", required=False)
        answers.check_keys({"denials", "retractions"})
        denials = answers.regex_list("denials", defines) if answers.has("denials") else ()
        retractions = answers.regex_list("retractions", defines) if answers.has("retractions") else ()
        return cls(rows, timing, crisis_kinds, safety_questions, department_numbers, denials, retractions, alone)

    def denies_danger(self, text: str) -> bool:
        """Whether a caller's answer to the safety question denies the danger (没有没有, 不会的, 我没事…:
        ``[safety_answers] denials``) and says little else: what is left once the denials are taken out
        is at most ``DENIAL_REST`` letters.  没有啊就是家里人都不理解我我好累 starts with a denial but is
        not one: it answers with more trouble."""
        letters = [ch for ch in text if ch.isalnum()]
        if not letters:
            return False
        covered = [False] * len(text)
        for p in self.denials:
            for m in p.finditer(text):
                covered[m.start():m.end()] = [True] * (m.end() - m.start())
        if not any(covered):
            return False
        rest = sum(1 for ch, c in zip(text, covered, strict=True) if not c and ch.isalnum())
        return rest <= DENIAL_REST

    def opens_with_denial(self, text: str) -> bool:
        """The answer starts by denying the danger (没有没有,我在家呢…; 没有啊,就是…我好累), whatever follows:
        a second sign that opens so does not escalate to the crisis card (``refine.apply``)."""
        return any(p.match(text) for p in self.denials) or self.retracts(text)

    def retracts(self, text: str) -> bool:
        """The caller takes the words back (我就是随口一说, 说的气话; ``[safety_answers] retractions``): whatever
        business follows, a model guess on the answer raises no card (``refine.apply``)."""
        return any(p.match(text) for p in self.retractions)

    def aside(self, number: str) -> tuple[str, str] | None:
        """``number``'s (reason, script) as a further route beside a matter 12345 handles, or None."""
        info = self.rows.get(number)
        return info.aside if info is not None else None

    def is_matter_number(self, number: str) -> bool:
        """A hotline given for the matter the call is about (``[department_numbers]``), not for words said."""
        return number in self.department_numbers.values()

    def critical_reason(self, number: str) -> str | None:
        """The reason a crisis raised by ``number``'s critical words gives (``critical_reason``), if any."""
        info = self.rows.get(number)
        return info.critical_reason if info is not None else None

    def only_confident(self, number: str) -> bool:
        """The learned head alone gives ``number`` only above its confident threshold (``model_confident``)."""
        info = self.rows.get(number)
        return info is not None and info.model_confident

    def spoken(self, number: str) -> tuple[str, ...]:
        """The names an operator calls ``number`` by when transferring (``spoken``: 急救中心 for 120)."""
        info = self.rows.get(number)
        return info.spoken if info is not None else ()

    def tells(self, number: str, said: str) -> bool:
        """Whether the operator's words ``said`` tell or transfer to ``number``, by number or spoken name (``told``)."""
        return told(number, said, self.spoken(number), self.alone)

    def is_urgent(self, number: str) -> bool:
        """An urgent number of the table (police, fire, ambulance, traffic: ``urgent = true``)."""
        info = self.rows.get(number)
        return info is not None and info.urgent

    def for_matter(self, department: str | None, category: str | None) -> Referral | None:
        """The hotline of a matter placed by department and category (``[department_numbers]``), or None."""
        number = self.department_numbers.get(f"{department}/{category}")
        return self.get(number) if number is not None else None

    def safety_question(self, kind: str | None) -> str:
        """What the operator asks on a weak crisis signal of ``kind``."""
        return self.safety_questions.get(kind or "", self.safety_questions.get("default", "您现在安全吗?"))

    def for_crisis(self, kind: str | None, reason: str) -> list[Referral]:
        """The emergency referrals of a danger of ``kind`` (``[crisis_kinds]``), in the table's order of
        urgency; [] for an unknown or missing kind."""
        return [r for n in self.crisis_kinds.get(kind or "", ())
                if (r := self.get(n, reason=reason, crisis=True)) is not None]

    def get(self, number: str, *, reason: str | None = None, span: Span | None = None,
            critical: bool = False, crisis: bool = False) -> Referral | None:
        """The referral for ``number`` (``reason`` overrides the table's), or None if unknown.  ``crisis``:
        the number is given for a danger to life (a crisis signal, the model's kind of danger), so its
        script is the row's ``crisis_script`` when it has one (110 for a suicidal caller is not 治安案件)."""
        info = self.rows.get(number)
        if info is None:
            return None
        script = info.crisis_script if crisis and info.crisis_script else info.script
        return Referral(info.number, info.name, reason or info.reason, script, info.urgent, span,
                        critical, info.critical_reason if critical else None)

    def find(self, text: str, *, first: list[Referral] | None = None) -> list[Referral]:
        """Referrals triggered in ``text``: ``first`` (e.g. from critical signals), then
        urgent ones, then by position.  Each number appears once (critical if any of
        its critical triggers matched); urgent numbers only for emergencies that are
        not over (``Timing``)."""
        leading = {r.number: r for r in first or []}
        found: dict[str, Referral] = {}
        for hit in self._matcher.find(text, longest_only=False):
            number = hit.key.number
            if number in leading:
                continue
            info = self.rows[number]
            if info.urgent and self.timing.over(text, hit.start, hit.end):
                continue  # 去年中风过 / 孩子已经找到了: the emergency is over
            current = found.get(number)
            if current is None or (hit.key.critical and not current.critical):
                # a critical trigger gives the number for a danger now: the crisis wording (the operator connects)
                got = self.get(number, span=Span(hit.text, hit.start, hit.end), critical=hit.key.critical,
                               crisis=hit.key.critical)
                if got is not None:
                    found[number] = got
        rest = sorted(found.values(),
                      key=lambda r: (not r.urgent, r.span.start if r.span else -1, self._order.get(r.number, 0)))
        return list(leading.values()) + rest
