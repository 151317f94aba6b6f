"""Did the operator ask about the caller's safety? (data: ``assist/nlp/data/safety_check.toml``)

Live assist raises the amber 安全确认 card on a weaker learned sign that someone may be at risk
(docs/analysis.md); the card is withdrawn on the caller's next calm final, so the report reads
every safety card ever shown, withdrawn or not.  For each card the operator's next
``within_turns`` finals after the caller's words are searched for any reasonable safety
question (``SafetyRules.patterns``, not only the card's wording).  The outcome is
``SafetyOutcome.ASKED`` (credited, with the words and their time), ``MISSED`` (a finding, with
the card's question as the wording to use) or ``CRISIS`` (the caller's own next words raised the
crisis card before the operator asked: the call is judged by the crisis criteria instead).

A card raised on the caller's answer to a safety question (the operator's last words before the
caller's asked it) is credited to that question.  A card the caller's next words replaced before
the operator said anything is judged as the newer card.

On a mono call every utterance is on the one ``mixed`` channel: the utterance that raised the card
and one that raised a crisis card are the caller's and never count as the operator asking (the
patterns are written as questions, which callers seldom put).  An operator's question that itself
raised a safety card there counts as asking, and the card it raised is not judged: words that are
themselves a safety question are the operator's, whatever the learned net read in them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from assist.nlp.safety_questions import SafetyRules
from assist.protocol.enums import PromptKind

SLACK = 1.0  # s: an operator utterance ending this soon before the caller's words ended is not after them
ANSWER_GAP = 15.0  # s: at most this between the operator's question and the caller's answer that raised a card


class SafetyOutcome(StrEnum):
    ASKED = "asked"  # the operator asked about the caller's safety in time
    MISSED = "missed"  # no safety question in the operator's next turns
    CRISIS = "crisis"  # the caller's next words raised the crisis card first (judged by the crisis criteria)


@dataclass(frozen=True, slots=True)
class Raised:
    """A safety card: the caller's utterance that raised it and the question it suggested."""

    utterance_id: str
    words: str  # the caller's words
    norm: str  # normalised
    start: float
    end: float
    question: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Turn:
    """One operator (or mono-channel) final utterance."""

    utterance_id: str
    text: str
    norm: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class SafetyCheck:
    time: float  # the start of the caller's words that raised the card
    caller: str  # those words
    question: str  # the question the card suggested
    reason: str | None
    outcome: SafetyOutcome
    asked_time: float | None = None  # ASKED: the start of the operator's question
    said: str | None = None  # ASKED: the operator's words
    # the card that asked for it: the amber safety card, or (set by the report) an unconfirmed model guess
    # of 自伤自杀 on a crisis card (assist.training.crisis_signs: CrisisReading.ask)
    card: PromptKind = PromptKind.SAFETY



def judge(rules: SafetyRules, raised: Sequence[Raised], turns: Sequence[Turn], crises: Sequence[float],
          crisis_ids: Collection[str]) -> tuple[SafetyCheck, ...]:
    """One check per safety card, in time order.  ``turns``: the operator's finals (agent or mixed);
    ``crises``: start times of the caller utterances that raised a crisis card; ``crisis_ids``: their ids
    (the caller's, on a mono channel)."""
    cards = sorted((r for r in raised if not rules.asks(r.norm)), key=lambda r: (r.start, r.utterance_id))
    ordered = sorted((t for t in turns if t.utterance_id not in crisis_ids), key=lambda t: (t.start, t.end))
    out: list[SafetyCheck] = []
    for i, card in enumerate(cards):
        window = [t for t in ordered if t.end > card.end - SLACK and t.start >= card.start
                  and t.utterance_id != card.utterance_id][:rules.within_turns]
        later = cards[i + 1] if i + 1 < len(cards) else None
        if later is not None and (not window or later.start < window[0].start):
            continue  # replaced on screen by the newer card before the operator spoke: judged as that one
        # the caller's words answer the question just asked: the operator's last final before them, and
        # only if it ended shortly before (the question, then the answer that raised the card)
        before = [t for t in ordered if t.start < card.start and card.start - t.end <= ANSWER_GAP]
        if before and rules.asks(before[-1].norm):
            asked: Turn | None = before[-1]
        else:
            asked = next((t for t in window if rules.asks(t.norm)), None)
        until = max(asked.start, card.start) if asked is not None else (window[-1].end if window else float("inf"))
        if any(card.start < c <= until for c in crises):
            out.append(SafetyCheck(card.start, card.words, card.question, card.reason, SafetyOutcome.CRISIS))
        elif asked is not None:
            out.append(SafetyCheck(card.start, card.words, card.question, card.reason, SafetyOutcome.ASKED,
                                   asked.start, asked.text))
        else:
            out.append(SafetyCheck(card.start, card.words, card.question, card.reason, SafetyOutcome.MISSED))
    return tuple(out)
