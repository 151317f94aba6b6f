"""What the crisis cards of a call amount to, for the training report (data: ``crisis.toml``).

A crisis card raised by the learned model alone (its reason carries ``CrisisRules.model_mark``,
"可能有自伤自杀风险(模型判断)") is a guess.  ``read_crisis`` decides whether the call **confirmed**
the crisis; it did when any of these holds:

* a rules sign: a crisis card whose reason is the rules' (no model mark);
* a second sign: crisis cards on two or more of the caller's utterances, or a safety card or a despair
  (绝望) emotion reading on another of the caller's utterances, before or after the crisis card (live
  assist asks the safety question first on the model's first sign and raises the crisis card on the
  next one: ``assist.nlp.analysis.CallContext.danger_seen``);
* the caller's own words name a kind of crisis (``[[kind]] caller`` of crisis.toml: 出不去, 没反应…).

A lone model guess is **judged** as a crisis all the same when the caller said nothing after it (a
farewell as the caller's last words: nothing shows the call was routine).  It is **unconfirmed** only
when the caller spoke again and those later lines were routine (no sign): the report shows it as
"模型提示未确认" and judges the call as a routine one.  An unconfirmed guess of a kind marked
``ask_unconfirmed`` (自伤自杀) is still not fully excused: ``CrisisReading.ask`` holds the safety
question the operator should have asked, and the report judges it like a safety card.

The **kinds** of a confirmed crisis say which crisis numbers it needs (``CrisisKind.numbers``,
referrals.toml [crisis_kinds]): the kinds the caller's words name, else those the rules' reasons name
(a reason can name several: 119's 火情、燃气泄漏、被困…), else the model's guessed kinds.
``CrisisReading.numbers`` keeps the offered numbers that fit those kinds (and any number of no kind,
such as 122); the others do not apply to the call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from assist.nlp.crisis_rules import CrisisKind, CrisisRules

UNCONFIRMED = "模型提示未确认"
STOOD_DOWN = "危急已解除"  # the operator confirmed the caller's correction (live assist's ``stood_down`` alert)


@dataclass(frozen=True, slots=True)
class CrisisSign:
    """A crisis card in its last state: the caller's utterance it is on, when, why and its numbers."""

    utterance_id: str
    time: float
    reason: str | None
    numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CallerLine:
    utterance_id: str
    norm: str
    start: float


@dataclass(frozen=True, slots=True)
class CrisisReading:
    since: float  # the start of the caller's utterance with the first crisis card
    confirmed: bool
    offered: tuple[str, ...]  # every number the crisis cards offered, in order
    numbers: tuple[str, ...]  # those the crisis's kinds need (all offered when no kind is known)
    kinds: tuple[CrisisKind, ...]  # the kinds the call showed (the model's guesses when nothing else tells)
    utterances: frozenset[str]  # the caller's utterances that raised a crisis card
    note: str = ""  # a lone model guess: why it is judged as a crisis, or why not
    ask: str = ""  # an unconfirmed guess still to be judged like a safety card: the question to ask
    reason: str | None = None  # the first crisis card's reason
    first_sign: float | None = None  # the start of the caller's first crisis sign (crisis card, safety card, 绝望)
    stood_down: bool = False  # the operator confirmed the caller's correction (a ``stood_down`` alert): no crisis

    def applies(self, number: str, all_kind_numbers: frozenset[str]) -> bool:
        """Whether a number the assistant offered fits the crisis (a number of no kind always does)."""
        return number not in all_kind_numbers or number in self.numbers


def read_crisis(rules: CrisisRules, signs: Sequence[CrisisSign], caller: Sequence[CallerLine],
                safety: Sequence[CallerLine], despair: Sequence[CallerLine] = ()) -> CrisisReading | None:
    """The crisis of a call from its crisis cards (None: no crisis card).  ``caller``: the caller's final
    lines; ``safety``: the caller utterances that raised a safety card; ``despair``: those read as 绝望."""
    if not signs:
        return None
    ordered = sorted(signs, key=lambda s: (s.time, s.utterance_id))
    first = ordered[0]
    offered = tuple(dict.fromkeys(n for s in ordered for n in s.numbers))
    by_rules = [s for s in ordered if s.reason is None or rules.model_mark not in s.reason]
    utterances = frozenset(s.utterance_id for s in ordered)
    # the caller's words name the kind best: a rules reason can name several (119's 火情、燃气泄漏、被困…)
    named = [k for k in rules.kinds if any(k.said_by_caller(line.norm) for line in caller)] or \
        [k for k in rules.kinds if any(s.reason is not None and k.named_in(s.reason) for s in by_rules)]
    other_sign = any(line.utterance_id not in utterances for line in (*safety, *despair))
    confirmed = bool(by_rules) or len(utterances) > 1 or other_sign or bool(named)
    kinds = named or [k for k in rules.kinds if any(s.reason is not None and k.named_in(s.reason) for s in ordered)]
    if named:
        numbers = tuple(n for n in offered if n not in kind_numbers(rules) or any(n in k.numbers for k in named))
    else:
        numbers = offered
    # the crisis items count from the first sign on: a safety card or 绝望 reading may come before the crisis card
    first_sign = min((first.time, *(line.start for line in (*safety, *despair))))
    reading = CrisisReading(first.time, confirmed, offered, numbers, tuple(kinds), utterances, reason=first.reason,
                            first_sign=first_sign)
    if confirmed:
        return reading
    guess = (first.reason or "危急").replace(rules.model_mark, "")
    later = [line for line in caller if line.start > first.time and line.utterance_id not in utterances]
    if not later:  # nothing the caller said afterwards shows the call was routine: judge it
        return dataclasses.replace(reading, confirmed=True, note=(
            f"只有模型的一次判断「{guess}」,但来电人之后没有再说话,无法排除危险,按危急来电评价"))
    note = (f"{UNCONFIRMED}:只有模型的一次判断「{guess}」,没有规则信号,也没有第二个信号,"
            "来电人随后的话是常规诉求,本通电话按常规来电评价")
    ask = next((k for k in kinds if k.ask_unconfirmed), None)
    if ask is None:
        return dataclasses.replace(reading, note=note)
    return dataclasses.replace(reading, ask=ask.question,
                               note=f"{note};模型判断涉及{ask.name},仍检查坐席是否询问了来电人的安全(见安全确认)")


def kind_numbers(rules: CrisisRules) -> frozenset[str]:
    """Every number some kind of crisis needs (110, 119, 120, 12356…)."""
    return frozenset(n for k in rules.kinds for n in k.numbers)
