"""Crisis criteria for the training report (data: ``assist/nlp/data/crisis.toml``).

A call in which a critical signal fired (self-harm, violence, an injury, a fire…) is not judged
by the routine closing and 办结时限 promise but by what a crisis needs: the caller's feelings
taken up, the caller kept on the line, the location asked, the transfer made (the crisis number
said, or 转接/三方).  ``assist.nlp.crisis_rules`` reads the items and the kinds of crisis (which numbers
each kind needs: ``assist.training.crisis_signs``); ``judge(rules, ...)`` checks the items in the
operator's words from the caller's critical utterance on (询问位置 from the caller's first crisis sign on,
never before it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from assist.nlp.crisis_rules import CrisisRules, number_text

SLACK = 1.0  # s: words said just before the critical utterance ended still count
OVERLAP = 0.5  # s: an operator line counts for the crisis items when it started at most this before the caller's words


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
    of danger, when it has one (``by_kind``).  A transfer offered as a question (需要给您转接110吗) is not yet the
    transfer (crisis.toml [routine] ``asking``), as live assist keeps its nudge then."""
    # said after the caller's words of danger began (new-user trial 7: 您别着急慢慢说, said just before the threat,
    # was credited as its 情绪承接); a line started within ``OVERLAP`` of them is the answer, spoken over the caller
    after = [u for u in agent if u.start >= since - OVERLAP]
    signs_on = [u for u in agent if u.end >= min(since, since if first_sign is None else first_sign) - SLACK]
    items = []
    credits = []
    for rule in rules.items:
        hit = next((u for u in after if rule.said_in(u.norm, numbers, kinds, rules.tells)
                    and not (rule.clean and u.lapse) and not (rule.number and rules.asks(u.norm))), None)
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
    for u in sorted(agent, key=lambda s: (s.start, s.end)):
        if u.start < check.time - OVERLAP or u.start >= until or u.start == closing:
            continue  # before the caller's words of danger, after the transfer, or the closing line
        if rules.routine_words(u.norm, check.numbers, check.kinds) is not None:
            wording = routine.expected.format(number=number_text(check.numbers))
            return dataclasses.replace(check, routine=CrisisItem(routine.name, False, u.start, u.text, wording))
    return check
