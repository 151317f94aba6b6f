"""The call's crisis: one kind of danger, one reason and one list of numbers for the whole call.

Each critical utterance (partial or final) is read (``read``): its reason, its kind of danger
(自伤自杀, 暴力, 医疗急症, 被困…: the keys of referrals.toml ``[crisis_kinds]``) and whether the rules
found words for it (``Source.RULES``) or the learned model alone raised it (``Source.MODEL``).  The
kind of a rules crisis comes from the emergency numbers its words gave (``crisis_kinds.toml``
``[[rule]]``); a model crisis has the model's kind, unless the words gave an emergency number that
kind does not have (大雨…水上来了 read as 自伤自杀: the words say 被困).

``CallCrisis.take`` keeps the most specific reading for the call: rules over model; a later rules
reading of another kind replaces the call's (a stronger, specific reason); a model reading of another
kind never does (a DV call stays 暴力 when the model reads 他好像过来了我不敢说了 as 自伤自杀).

Numbers: a reading's emergency numbers join the call's only when its words said them or they are
numbers of the call's kind (a flood call does not get 12356 from a guess of 自伤自杀, nor a road
accident 110 from a guess of 暴力).  The card's order is kept once shown; new numbers go after: the
urgent ones first, then those whose words raised the crisis (叫他没反应: 120 before 122), then the
ones said.  When the call's kind changes, the numbers that neither were said nor are of the new kind
leave, and the new kind's numbers lead.  While the call is in crisis, the referral cards of its
numbers stay (``card_life.CallCards.fold``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import ClassVar

from assist.nlp.analyzer import Analysis
from assist.nlp.data import DEFAULT_DATA_DIR, DataError, Table, load_toml
from assist.nlp.referral import Referral, ReferralTable
from assist.nlp.weaksigns import quoted

KINDS_FILE = "crisis_kinds.toml"
HEARD_KEPT = 2  # a model crisis card quotes the words of the call's last two utterances that gave some
SHOWN_CORRECTION = 40  # the caller's correction as the crisis card and the stand-down alert quote it (characters)


class Source(StrEnum):
    """Who found the danger: words of the rules, or the learned model alone."""

    RULES = "rules"
    MODEL = "model"


@dataclass(frozen=True, slots=True)
class KindRule:
    number: str
    kind: str
    patterns: tuple[re.Pattern[str], ...] = ()

    def matches(self, numbers: Collection[str], text: str) -> bool:
        return self.number in numbers and (not self.patterns or any(p.search(text) for p in self.patterns))


@dataclass(frozen=True, slots=True)
class KindCard:
    """A crisis number's referral card in a call of one kind (119 for someone trapped: rescue, not fire)."""

    reason: str
    script: str = ""  # empty: the number's own script (the kind names only its reason)
    victim: bool = False  # the script speaks to the person in danger: a reporter of someone else's gets 报告人's


@dataclass(frozen=True, slots=True)
class Corrections:
    """crisis_kinds.toml ``[corrections]``: the explicit denial by which a caller takes back a danger of a kind that can
    be misjudged (不是着火 是烧纸), the words that void it, and how the operator's confirmation sounds."""

    kinds: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    unless: tuple[re.Pattern[str], ...] = ()
    affirm: tuple[re.Pattern[str], ...] = ()
    accept: tuple[re.Pattern[str], ...] = ()
    doubt: tuple[re.Pattern[str], ...] = ()
    asking: tuple[re.Pattern[str], ...] = ()

    FIXED: ClassVar[tuple[str, ...]] = ("unless", "affirm", "accept", "doubt", "asking")

    @classmethod
    def read(cls, table: Table) -> Corrections:
        return cls({kind: table.regex_list(kind) for kind in table.raw if kind not in cls.FIXED},
                   *(table.regex_list(key) if table.has(key) else () for key in cls.FIXED))

    def denial(self, kind: str | None, text: str) -> re.Match[str] | None:
        """The explicit denial of a danger of ``kind`` in ``text`` (a normalised final), in a line with no danger
        word, hedge or question of ``unless``; else None."""
        return None if kind is None or self.voids(text) else self.said(kind, text)

    def said(self, kind: str | None, text: str) -> re.Match[str] | None:
        """The words of ``text`` that deny a danger of ``kind``, whatever else the line says."""
        return next((m for p in self.kinds.get(kind or "", ()) if (m := p.search(text))), None)

    def voids(self, text: str) -> bool:
        """Danger words, a hedge or a question: no correction, confirmation or yes (a standing correction is void)."""
        return any(p.search(text) for p in self.unless)

    def affirms(self, text: str) -> bool:
        return any(p.search(text) for p in self.affirm) and not self.voids(text)

    def confirms(self, text: str) -> bool:
        """An operator's restated denial said as accepted, without doubt (好的 只是烧纸 没有着火就好)."""
        return any(p.search(text) for p in self.accept) and not any(p.search(text) for p in self.doubt)

    def asks_back(self, text: str) -> bool:
        """An operator's restated denial asked back as a tag question at its end, without doubt (…没有着火是吧)."""
        return any(p.search(text) for p in self.asking) and not any(p.search(text) for p in self.doubt)


class CrisisKinds:
    """``crisis_kinds.toml``: the kind of a crisis from its numbers and words, the model's reason, the cards."""

    def __init__(self, rules: tuple[KindRule, ...], model_reason: str, cards: dict[tuple[str, str], KindCard],
                 keeps: frozenset[str] = frozenset(), reporter: tuple[re.Pattern[str], ...] = (),
                 victim: tuple[re.Pattern[str], ...] = (), reporter_scripts: frozenset[str] = frozenset(),
                 corrections: Corrections | None = None) -> None:
        self.corrections = corrections or Corrections()  # [corrections]: 不是着火 是烧纸, and how it is confirmed
        self.rules = rules
        self.reporter = reporter  # a caller reporting someone else's danger (对门的老太太三天没出门)
        self.victim = victim  # ... unless the caller is the one in danger in the same line (隔壁阿姨过来了 他还在打我)
        self.model_reason = model_reason
        self.cards = cards
        self.keeps = keeps  # kinds a rules reading of another kind joins instead of replacing
        self.reporter_scripts = reporter_scripts  # kinds whose empathy scripts a reporter gets as 报告人's

    @classmethod
    def load(cls, data_dir: Path = DEFAULT_DATA_DIR) -> CrisisKinds:
        path = data_dir / KINDS_FILE
        doc = load_toml(path)
        doc.check_keys({"rule", "model", "cards", "reporter", "corrections"})
        rules = []
        for entry in doc.tables("rule"):
            entry.check_keys({"number", "kind", "patterns"})
            rules.append(KindRule(entry.text("number"), entry.text("kind"), entry.regex_list("patterns")))
        model = doc.table("model")
        model.check_keys({"reason", "keeps"})
        reason = model.text("reason")
        if "{kind}" not in reason:
            raise DataError(path, "model.reason", "needs {kind}")
        cards: dict[tuple[str, str], KindCard] = {}
        table = doc.table("cards", required=False)
        for key in table.raw:
            kind, sep, number = key.partition("/")
            if not sep or not kind or not number:
                raise DataError(path, f"cards.{key}", "key must be \"kind/number\"")
            card = table.table(key)
            card.check_keys({"reason", "script", "victim"})
            cards[(kind, number)] = KindCard(card.text("reason"), card.text("script", ""),
                                             card.boolean("victim", False))
        reporter = doc.table("reporter", required=False)
        reporter.check_keys({"patterns", "not_when", "scripts"})
        corrections = Corrections.read(doc.table("corrections", required=False))
        known = load_toml(data_dir / "referrals.toml").table("crisis_kinds").raw
        if unknown := sorted(set(corrections.kinds) - set(known)):
            raise DataError(path, "corrections", f"{', '.join(unknown)} is no kind of referrals.toml [crisis_kinds]")
        return cls(tuple(rules), reason, cards, frozenset(model.texts("keeps")),
                   reporter.regex_list("patterns") if reporter.has("patterns") else (),
                   reporter.regex_list("not_when") if reporter.has("not_when") else (),
                   frozenset(reporter.texts("scripts")), corrections)

    def of_numbers(self, numbers: Collection[str], text: str) -> str | None:
        """The kind of danger of words that gave ``numbers`` (None: no rule fits)."""
        return next((r.kind for r in self.rules if r.matches(numbers, text)), None)

    def card(self, kind: str | None, number: str) -> KindCard | None:
        return self.cards.get((kind, number)) if kind is not None else None

    def reports_other(self, text: str) -> bool:
        """The caller speaks of someone else's danger, as a neighbour or a passer-by (``[reporter]``), and is not the
        one in danger in the same words (``not_when``)."""
        return any(p.search(text) for p in self.reporter) and not self.in_danger(text)

    def in_danger(self, text: str) -> bool:
        """The caller's words say the caller is the one in danger (``[reporter] not_when``): the call is no report,
        whoever else it names, in this line or a later one."""
        return any(p.search(text) for p in self.victim)


@cache
def shipped_kinds() -> CrisisKinds:
    """The shipped table, loaded once per process."""
    return CrisisKinds.load()


@dataclass(frozen=True, slots=True)
class CrisisReading:
    """What one critical utterance says of the danger."""

    reason: str
    kind: str | None
    source: Source
    numbers: tuple[str, ...]  # its emergency numbers, in the analysis's order
    said: frozenset[str]  # those its words gave (the rules found them in the text)
    raised: frozenset[str] = frozenset()  # those whose words raised the crisis (叫他没反应 → 120, not 撞了 → 122)
    heard: str = ""  # a model reading: the words that make it specific (WeakSigns.heard), quoted on the card
    grave: bool = False  # a model reading: a farewell, a place of danger, means or a plan (WeakSigns.serious)


def emergency(table: ReferralTable | None, ref: Referral) -> bool:
    """A number the crisis card may name: urgent, critical, or an emergency number of the table (12356);
    without the table, every number of a critical utterance."""
    return table is None or ref.urgent or ref.critical or ref.number in table.emergency_numbers


def read(kinds: CrisisKinds, table: ReferralTable | None, rules: Analysis, refined: Analysis,
         model_kind: str | None) -> CrisisReading | None:
    """The crisis ``refined`` raises (None: not critical).  ``rules``: the same utterance before the learned
    path; ``model_kind``: the kind of danger the learned model reads (None: none, or no model).  A model
    reading is grave when the learned path marked its words so (``evidence["grave"]``: a farewell, a place of
    danger, means or a plan, ``WeakSigns.serious``)."""
    if not refined.critical:
        return None
    text = refined.normalized.text
    numbers = tuple(dict.fromkeys(r.number for r in refined.referrals if emergency(table, r)))
    said = frozenset(r.number for r in rules.referrals if r.span is not None and emergency(table, r))
    if rules.critical:
        spans = set(rules.evidence.get("critical", ()))
        raised = [r.number for r in rules.referrals if r.critical or (r.span is not None and r.span in spans)]
        kind = kinds.of_numbers(raised, text)
        reason = _specific(kinds, table, kind, raised, refined.critical_reason or rules.critical_reason or "")
        return CrisisReading(reason, kind, Source.RULES, numbers, said, frozenset(raised))
    kind = model_kind
    words = [n for n in numbers if n in said and table is not None and table.is_urgent(n)]
    of_kind = table.crisis_kinds.get(kind or "", ()) if table is not None else ()
    if words and not set(words) & set(of_kind):
        kind = kinds.of_numbers(words, text) or kind  # the words say what the danger is, not the guess
    reason = kinds.model_reason.format(kind=kind) if kind else refined.critical_reason or ""
    heard = refined.evidence.get("critical", ())
    return CrisisReading(reason, kind, Source.MODEL, numbers, said, heard=heard[0].text if heard else "",
                         grave=bool(refined.evidence.get("grave")))


def _specific(kinds: CrisisKinds, table: ReferralTable | None, kind: str | None, raised: list[str], reason: str) -> str:
    """``reason`` with a number's generic crisis reason (119's 火情、燃气泄漏、被困或落水等紧急险情) replaced by its
    card's in a call of ``kind`` (被困: 有人被困或被水围困,需要消防救援; trial 6, c5: a flood's headline went from
    the model's 被困 to the generic one, and the supervisor's tag read 火情)."""
    for number in raised:
        card = kinds.card(kind, number)
        generic = table.critical_reason(number) if table is not None else None
        if card is not None and generic:
            reason = reason.replace(f"{generic}({number})", f"{card.reason}({number})")
    return reason


@dataclass(frozen=True, slots=True)
class StandDown:
    """A crisis the operator stood down on the caller's correction: the caller's words, the confirmation, and the
    numbers the card had offered (none of them is owed now)."""

    correction: str
    confirmed: str
    numbers: tuple[str, ...]


@dataclass
class CallCrisis:
    """The crisis of one call: its reason, kind, source and numbers (in card order)."""

    kinds: CrisisKinds
    table: ReferralTable | None = None
    reason: str | None = None
    kind: str | None = None
    source: Source | None = None
    numbers: list[str] = field(default_factory=list)  # the call's crisis numbers, in the card's order
    said: set[str] = field(default_factory=set)  # crisis numbers the caller's words gave
    utterance: str | None = None  # the utterance whose reading set the call's reason
    heard: dict[str, str] = field(default_factory=dict)  # utterance -> the words a model reading quoted
    joined: set[str] = field(default_factory=set)  # other kinds whose readings joined the call's (_joins)
    grave: bool = False  # the call's reason came from words: the rules', or grave ones of a model reading
    correction: str | None = None  # the caller's words taking the danger back (不是着火 是烧纸), not yet confirmed
    confirming: bool = False  # the operator asked the correction back: the caller's yes stands the crisis down
    asked: str = ""  # ... in these words
    stood_down: StandDown | None = None  # the operator confirmed the correction: the crisis is over
    named: set[str] = field(default_factory=set)  # kinds of danger the caller's words named in the call (crisis.toml)
    held: set[str] = field(default_factory=set)  # every kind the crisis has had, replaced ones too

    @property
    def kind_names(self) -> tuple[str, ...]:
        """The call's kind of danger as the crisis criteria take it (crisis.toml): one, or none yet."""
        return (self.kind,) if self.kind else ()

    @property
    def active(self) -> bool:
        return self.reason is not None and self.stood_down is None

    @property
    def correctable(self) -> bool:
        """The crisis is one danger of a kind a caller can misjudge and nothing else: no other danger joined it, no
        number beyond the kind's own (120 for someone burnt, 110 for a threat), no caller line of the call named
        another kind (着火了 我们被困在屋里出不来了; 我老公喝多了打我 还在家里放火) and the crisis never had another
        kind, one it replaced too (a self-harm card before a gas smell) — only such a crisis can stand down on a
        correction (the review of stop 24: 他把家里点着了 还拿着刀 lost 110 on 没着火 误会了)."""
        own = set(self.kind_numbers())
        return (self.active and self.kind in self.kinds.corrections.kinds and not self.joined and bool(own)
                and set(self.numbers) <= own and not (self.named | self.held) - {self.kind})

    def corrected(self, text: str) -> str | None:
        """A caller's final (normalised, not critical) that takes the call's danger back, when its kind can be
        misjudged (``[corrections]``): the final, cut to ``SHOWN_CORRECTION`` characters, now the call's pending
        correction; None otherwise."""
        if not self.correctable or self.kinds.corrections.denial(self.kind, text) is None:
            return None
        said = "".join(text.split())
        said = said if len(said) <= SHOWN_CORRECTION else said[:SHOWN_CORRECTION] + "…"
        if said == self.correction:
            return None
        self.correction = said
        return said

    def stand_down(self, confirmed: str) -> StandDown | None:
        """The operator confirmed the pending correction (``confirmed``: the operator's words, or the caller's yes
        to them): the crisis is over and owes no number; None when nothing was corrected."""
        if not self.correctable or self.correction is None:
            return None
        self.stood_down = StandDown(self.correction, confirmed, tuple(self.numbers))
        self.numbers = []
        self.confirming = False
        return self.stood_down

    def danger_again(self) -> None:
        """A critical reading after a correction: the danger stands again, the correction is void."""
        self.correction = None
        self.confirming = False

    @property
    def card_reason(self) -> str | None:
        """The reason the crisis card and the supervisor's alert give: a model crisis quotes the words heard in
        the call's last ``HEARD_KEPT`` utterances that gave some (trial 4, f1: "可能有自伤自杀风险(模型判断)"
        stayed so through 存折密码我都写在本子上了 and the caller's 想过好几回了)."""
        if self.reason is None or self.source is not Source.MODEL:
            return self.reason
        return self.reason + quoted(list(self.heard.values())[-HEARD_KEPT:])

    def take(self, reading: CrisisReading, utterance_id: str | None = None) -> bool:
        """Fold in one critical utterance's reading; True when the call's kind changed (or was set).  A
        reading of the utterance that set the call's reason (its final after a partial) may revise it."""
        if self._joins(reading, utterance_id):
            if self.reason is not None and reading.reason not in self.reason:
                self.reason = f"{self.reason};{reading.reason}"  # 扬言伤人 stays; 大不了一起死 adds its reason
            if reading.kind is not None:
                self.joined.add(reading.kind)  # its kind's numbers may join the card (allowed)
            if reading.heard:
                self.heard[utterance_id or ""] = reading.heard
            return False
        replaces = self._replaces(reading, utterance_id)
        if reading.heard and (replaces or reading.kind in (None, self.kind)):
            key = utterance_id or ""
            self.heard.pop(key, None)  # the utterance's newest words (its final after a partial), last
            self.heard[key] = reading.heard
        if not replaces:
            return False
        changed = reading.kind != self.kind
        reason = reading.reason
        if changed and self.kind is not None and reading.kind is not None and self.grave:
            self.joined.add(self.kind)  # the danger it replaced was words, not a guess: its numbers stay (_rekind)
            if self.reason and reason not in self.reason:  # and its reason (new-user trial 10: the pills swallowed
                reason = f"{self.reason};{reason}"  # left the headline when 不想活了 came after them)
        self.reason, self.source, self.utterance = reason, reading.source, utterance_id
        self.grave = reading.source is Source.RULES or reading.grave
        if changed:
            self.kind = reading.kind
            self._rekind(reading)
        if self.kind is not None:
            self.held.add(self.kind)
        return changed

    def _joins(self, reading: CrisisReading, utterance_id: str | None) -> bool:
        """A reading of another kind that joins the call's instead of replacing it: its reason joins and its
        kind's numbers may join the card.  Either a rules reading in a call whose kind ``keeps``
        (crisis_kinds.toml), or a model reading in a call whose kind is itself only the model's: two guesses
        of two dangers both stand (a chest-pain guess, then 我已经站在江边了,这是最后一次给你们打电话了 read as
        自伤自杀 by the model alone, kept 120 and lost 12356 and 110) when its words are grave: a farewell, a place
        of danger, means or a plan (trial 6, c2: 真的有这么严重吗我一个人在家不想折腾 in the chest-pain call is no
        second danger), onto a crisis of the model's or of the rules' (a rules chest pain, then a farewell).  A
        guess without grave words never joins a call whose danger the rules named (a DV call gets no 12356 from
        他好像过来了我不敢说了).  A danger of words (the rules', or a grave guess) replaced by a rules reading of
        another kind still stands too: its numbers stay (a caller on a bridge who then falls keeps 110 and 12356
        beside 120); a replaced guess without such words leaves (``take``)."""
        if (self.reason is None or reading.kind is None or reading.kind == self.kind or utterance_id == self.utterance
                or not reading.reason):
            return False
        if reading.source is Source.MODEL:  # grave words (「我已经站在江边了」), not a mood (我一个人在家不想折腾),
            return self.kind is not None and reading.grave  # onto a model crisis or one the rules named
        return self.source is Source.RULES and self.kind in self.kinds.keeps

    def _replaces(self, reading: CrisisReading, utterance_id: str | None) -> bool:
        if self.reason is None or self.source is None:
            return True
        if utterance_id is not None and utterance_id == self.utterance and self.source is Source.MODEL:
            return True  # the same utterance read again (more words, or its final): its newest guess counts
        if reading.source is Source.RULES:  # words outrank a guess; a specific reason of another kind wins
            return self.source is Source.MODEL or (reading.kind is not None and reading.kind != self.kind)
        return self.source is Source.MODEL and self.kind is None and reading.kind is not None

    def kind_numbers(self) -> tuple[str, ...]:
        """The emergency numbers of the call's kind of danger (referrals.toml ``[crisis_kinds]``)."""
        if self.table is None or self.kind is None:
            return ()
        return self.table.crisis_kinds.get(self.kind, ())

    def standing_numbers(self) -> tuple[str, ...]:
        """The numbers of the call's kind, then those of the dangers that joined it or that it replaced and that
        still stand (``joined``), each once."""
        if self.table is None:
            return self.kind_numbers()
        joined = (n for kind in sorted(self.joined) for n in self.table.crisis_kinds.get(kind, ()))
        return tuple(dict.fromkeys((*self.kind_numbers(), *joined)))

    def allowed(self, reading: CrisisReading) -> tuple[str, ...]:
        """The numbers of ``reading`` that belong on the call's card: said, or of the call's kind (all of
        them while the call's kind is unknown)."""
        if self.kind is None or not self.kind_numbers():
            return reading.numbers
        mine = set(self.standing_numbers())
        return tuple(n for n in reading.numbers if n in reading.said or n in mine)

    def card(self, reading: CrisisReading) -> tuple[str, ...]:
        """The crisis card's numbers with ``reading``: the call's, in their order, then the reading's new
        ones (urgent first, then those whose words raised the crisis, then those of the reading's kind of danger,
        then those said, else the analysis's order); they join the call's.  A rider hit by a car read as 医疗急症
        gets 120 before the 122 its words said, and the call's 承办 is 卫健's."""
        new = [n for n in self.allowed(reading) if n not in self.numbers]
        self.said.update(n for n in reading.said if n in new or n in self.numbers)
        lead = self.table.crisis_kinds.get(reading.kind or "", ()) if self.table is not None else ()
        new.sort(key=lambda n: (not self._urgent(n), n not in reading.raised, n not in lead, n not in reading.said))
        self.numbers.extend(new)
        return tuple(self.numbers)

    def _urgent(self, number: str) -> bool:
        return self.table is None or self.table.is_urgent(number)

    def _rekind(self, reading: CrisisReading) -> None:
        """The call's kind was set or changed by ``reading``: numbers neither said nor of the new kind leave;
        the reading's, urgent first, those its words raised, then the kind's, then those said, lead (a rider hit
        by a car read as 医疗急症: 120 before the 122 the words said)."""
        mine = self.standing_numbers()
        self.said.update(reading.said)
        pool = list(dict.fromkeys((*self.numbers, *self.allowed(reading))))
        if mine:
            pool = [n for n in pool if n in self.said or n in mine]
        pool.sort(key=lambda n: (not self._urgent(n), n not in reading.raised,
                                 mine.index(n) if n in mine else len(mine), n not in self.said))
        self.numbers = pool
