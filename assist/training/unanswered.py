"""知识库有答案而坐席答不知道: the operator disclaimed knowing while the knowledge base had the answer.

A banned-phrase card on an operator utterance is a **disclaimer** when one of its rules is listed in
training.toml ``[unanswered] rules`` or has one of its ``categories`` in banned.toml (推脱不知: the
rules' ``disclaim_knowledge``; a learned hit, ``rule = "learned"``, is known by its suggestion, the
``[learned]`` wording of its class).  The caller's **question** is what the caller said since the
operator's previous utterance; the knowledge base **had the answer** when live assist raised a knowledge
card on those words (the search already done while the call ran; shown, or withdrawn later) scoring at
least ``min_score``.  An answer card standing from an earlier matter does not count: it answered
another question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml
from assist.training.report_shape import Unanswered
from assist.training.rules import UnansweredRule

BANNED_FILE = DEFAULT_DATA_DIR / "banned.toml"
LEARNED_RULE = "learned"  # the rule of a learned banned-phrase hit (assist.live.prompts.LEARNED_RULE)


@dataclass(frozen=True, slots=True)
class Lapse:
    """A banned-phrase card on an operator utterance."""

    utterance_id: str
    time: float  # when the banned words were said
    said: str
    rule: str  # rule ids joined by "+" (one card per utterance: assist.live.card_build.lapse_card)
    suggestion: str


@dataclass(frozen=True, slots=True)
class Line:
    """A final utterance: whose, when, what."""

    utterance_id: str
    caller: bool  # the caller's channel
    start: float
    text: str
    mixed: bool = False  # the one channel of a mono call: the line before the operator's is the question


@dataclass(frozen=True, slots=True)
class Answer:
    """A knowledge card on an utterance, in its last state (withdrawn ones too)."""

    utterance_id: str
    id: str
    question: str
    answer: str
    score: float


@dataclass(frozen=True, slots=True)
class BannedKinds:
    """banned.toml as this check reads it: each rule's category, and the learned wording of each class."""

    categories: dict[str, str]  # rule id -> category
    learned: dict[str, re.Pattern[str]]  # class -> its suggestion ({department} as any words)

    def disclaims(self, lapse: Lapse, rule: UnansweredRule) -> bool:
        for rid in lapse.rule.split("+"):
            if rid in rule.rules or self.categories.get(rid) in rule.categories:
                return True
            if rid == LEARNED_RULE and any(self.learned[c].search(lapse.suggestion)
                                           for c in rule.categories if c in self.learned):
                return True
        return False


@cache
def banned_kinds(path: Path = BANNED_FILE) -> BannedKinds:
    doc = load_toml(path)
    categories = {t.text("id"): t.text("category") for t in doc.tables("rule")}
    table = doc.table("learned", required=False)
    learned = {kind: re.compile(".*?".join(re.escape(part) for part in table.text(kind).split("{department}")))
               for kind in table.raw}
    return BannedKinds(categories, learned)


def unanswered(lapses: Sequence[Lapse], lines: Sequence[Line], answers: Sequence[Answer],
               rule: UnansweredRule, kinds: BannedKinds | None = None) -> tuple[Unanswered, ...]:
    """One finding per disclaimer that followed a caller question the knowledge base answered confidently."""
    kinds = kinds or banned_kinds()
    ordered = sorted(lines, key=lambda u: (u.start, u.utterance_id))
    position = {u.utterance_id: i for i, u in enumerate(ordered)}
    out = []
    for lapse in sorted(lapses, key=lambda x: x.time):
        i = position.get(lapse.utterance_id)
        if i is None or not kinds.disclaims(lapse, rule):
            continue
        asked: list[Line] = []  # the caller's words since the operator's previous utterance
        for u in reversed(ordered[:i]):
            if u.mixed and ordered[i].mixed:
                asked.append(u)  # a mono call: whose words are whose is not known, the line before asked
                break
            if not u.caller:
                break
            asked.append(u)
        ids = {u.utterance_id: u for u in asked}
        found = [a for a in answers if a.utterance_id in ids and a.score >= rule.min_score]
        if not found:
            continue
        best = max(found, key=lambda a: a.score)
        question = ids[best.utterance_id]
        out.append(Unanswered(round(lapse.time, 2), lapse.said, round(question.start, 2), question.text, best.id,
                              best.question, best.answer, round(best.score, 3)))
    return tuple(out)
