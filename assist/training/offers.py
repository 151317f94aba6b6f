"""The referral numbers and knowledge answers the assistant offered, for the training report.

**Referrals.** A number counts as told (``ReferralOffer.given``) when the operator told it (dialled,
transferred to, sent for or given, the number whole and not negated: ``assist.nlp.referral.told``, the rule
of live assist's supervisor pin; a phone number read back is not 120 told), or the number's name in the same
way (可以问心理援助热线), at any time after the caller's need for it arose: for a crisis number, from
the caller's utterance with the first crisis card (the number may have come on a later card, as 110
did when the operator had already said 通知一一零交警); for another number, from the caller's
utterance with its card.  Said before that, it counts when it was said for that need: in the
operator's turn just before the caller's words that raised the card.  A number not told is a finding
unless ``excused`` says why not:

* the crisis was only a model guess the call did not confirm (``crisis_signs.UNCONFIRMED``);
* the number does not fit the crisis's kind (12356 for a flood victim: ``不适用``);
* the kind needs any one of its numbers and the operator gave another (被困: 119 or 110).

**Knowledge.** Every answer card shown counts, also one withdrawn later (a crisis starting, a newer
answer): the operator saw it and may have used it.  ``KnowledgeOffer.withdrawn`` says it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from assist.nlp.crisis_rules import CrisisRules
from assist.training.crisis import SLACK, Said
from assist.training.crisis_signs import STOOD_DOWN, UNCONFIRMED, CallerLine, CrisisReading, kind_numbers
from assist.training.report_shape import KnowledgeOffer, ReferralOffer


@dataclass(frozen=True, slots=True)
class ReferralCard:
    """A referral card in its last state (not withdrawn), at the start of its utterance."""

    utterance_id: str
    time: float
    number: str
    name: str
    reason: str
    script: str


@dataclass(frozen=True, slots=True)
class KnowledgeCard:
    time: float
    id: str
    question: str
    answer: str
    score: float
    withdrawn: bool


def referrals(cards: Sequence[ReferralCard], agent: Sequence[Said], caller: Sequence[CallerLine],
              crisis: CrisisReading | None, rules: CrisisRules) -> tuple[ReferralOffer, ...]:
    """One offer per number, at its first card, in time order."""
    first: dict[str, ReferralCard] = {}
    for c in sorted(cards, key=lambda c: (c.time, c.utterance_id)):
        first.setdefault(c.number, c)
    out = []
    for number, card in first.items():
        need = card.time
        urgent = crisis is not None and crisis.confirmed and number in crisis.offered  # a crisis number of the call
        if urgent and crisis is not None:
            need = min(need, crisis.since)
        told = _told(number, card.name, need, agent, caller, rules, crisis=urgent)
        excused = "" if told is not None else _excuse(number, card, crisis, agent, caller, rules)
        out.append(ReferralOffer(round(card.time, 2), number, card.name, card.reason, card.script, told is not None,
                                 excused, None if told is None else round(told.start, 2),
                                 None if told is None else told.text))
    return tuple(out)


def _told(number: str, name: str, need: float, agent: Sequence[Said], caller: Sequence[CallerLine],
          rules: CrisisRules, *, crisis: bool = True) -> Said | None:
    """The operator's utterance that told ``number`` or its ``name`` (``CrisisRules.tells``, the live pin's rule:
    dialled, transferred to or given, the number whole and not negated; 一一零 and 幺幺零 are 110 in the normalised
    text) after the need arose at ``need``, else in the turn just before; None: not told.  The credit is dated by
    these words, not by the card.  ``crisis``: a crisis number, not told by sending the caller to dial alone."""
    # (a transfer offered as a question, 需要给您转接120吗, tells nothing yet: live assist's rule too)
    said = [u for u in agent if not rules.asks(u.norm) and rules.tells(number, u.norm, (name,), crisis=crisis)]
    hit = next((u for u in said if u.end >= need - SLACK), None)
    if hit is not None:
        return hit
    # the operator's turn just before the caller's words that raised the card: no caller line between
    return next((u for u in said if not any(u.end <= c.start < need for c in caller)), None)


def _excuse(number: str, card: ReferralCard, crisis: CrisisReading | None, agent: Sequence[Said],
            caller: Sequence[CallerLine], rules: CrisisRules) -> str:
    """Why a number not told is not a finding ("" when it is one)."""
    if crisis is None:
        return ""
    if not crisis.confirmed:
        if crisis.stood_down and (card.utterance_id in crisis.utterances or number in crisis.offered):
            return f"{STOOD_DOWN}:来电人更正,坐席核实确认,不再需要这个号码"
        if card.utterance_id in crisis.utterances or number in crisis.offered:
            return f"{UNCONFIRMED}:这个号码来自模型的危急判断,通话没有证实"
        return ""
    if not crisis.applies(number, kind_numbers(rules)):
        kinds = "、".join(k.name for k in crisis.kinds)
        return f"不适用:本次危急是{kinds},不需要 {number}"
    told = {n for n in {*(n for k in crisis.kinds for n in k.numbers), *rules.linking} if n != number
            and _told(n, "", crisis.since, agent, caller, rules) is not None}
    instead = rules.told_instead(number, told, [k.name for k in crisis.kinds])
    if instead is None:
        return ""
    other, why = instead
    return f"已告知 {other}({why})"


def knowledge(cards: Sequence[KnowledgeCard]) -> tuple[KnowledgeOffer, ...]:
    """Each answer once (its first card), withdrawn or not, in time order."""
    out: dict[str, KnowledgeOffer] = {}
    for c in sorted(cards, key=lambda c: (c.time, c.withdrawn)):
        if not c.id:
            continue
        seen = out.get(c.id)
        if seen is None:
            out[c.id] = KnowledgeOffer(round(c.time, 2), c.id, c.question, c.answer, round(c.score, 3), c.withdrawn)
        elif seen.withdrawn and not c.withdrawn:  # withdrawn once, shown again and kept: not withdrawn
            out[c.id] = dataclasses.replace(seen, withdrawn=False)
    return tuple(out.values())
