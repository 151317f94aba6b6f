"""Referral and knowledge cards that outlive their utterance, and when they retire.

A card raised by one passing word (网贷 → 110 in a call about something else) should not stay on
the operator's screen for the rest of the call.  After its utterance's final, a referral or
knowledge card is kept while the call supports it: a later caller utterance finds the same
number or answer again, or the card is for the call's handling department (a referral's
department from units.toml, an answer's from the knowledge base).  ``RETIRE_AFTER`` caller
utterances in a row without support withdraw it — unless it is a knowledge answer matched
strongly (``KB_STRONG``): that is what the caller asked, and it stays until a better answer
replaces it.  When a crisis card takes over, every referral card for another number and every
knowledge card is withdrawn at once — the operator's screen is the crisis's (a 97 % 医保 answer is
noise during a heart attack) — except a knowledge answer about the crisis itself (matched
confidently and naming the call's kind of danger: 燃气泄漏怎么办 in a gas-leak call,
``CallLevel.about_crisis``); the referral cards of the call's crisis numbers stay while the call is
in crisis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assist.protocol.enums import PromptKind, Role
from assist.protocol.payloads import PromptData

RETIRE_AFTER = 2  # caller utterances in a row that do not support a card before it is withdrawn
KB_STRONG = 0.5  # a knowledge answer matched at least this well is the caller's matter, not a passing word


@dataclass
class LiveCard:
    """A card still on the operator's screen after its utterance ended."""

    prompt_id: str
    utterance_id: str
    role: Role
    kind: PromptKind  # REFERRAL, KNOWLEDGE or SAFETY (the standing safety question)
    key: str  # the referral number or the knowledge answer's id
    data: PromptData
    department: str | None
    passing: bool = True  # raised by a passing word (False: a strong knowledge match, kept until replaced)
    unsupported: int = 0


class CallCards:
    """The call's standing referral and knowledge cards."""

    def __init__(self) -> None:
        self.cards: dict[str, LiveCard] = {}

    def keep(self, card: LiveCard) -> None:
        self.cards[card.prompt_id] = card

    def of_kind(self, kind: PromptKind) -> list[LiveCard]:
        return [c for c in self.cards.values() if c.kind == kind]

    def fold(self, numbers: set[str], answers: set[str], department: str | None,
             keep: set[str] | None = None) -> list[LiveCard]:
        """A final caller utterance found referral ``numbers`` and knowledge ``answers``; the call's
        department is ``department``; ``keep``: the call's crisis numbers, whose referral cards stay while
        the call is in crisis.  Returns the cards that retire now."""
        retired: list[LiveCard] = []
        for card in list(self.cards.values()):
            if card.kind == PromptKind.SAFETY:
                continue  # the standing safety question settles on its own terms (LiveAssist._settled_safety)
            found = numbers if card.kind == PromptKind.REFERRAL else answers
            if card.kind == PromptKind.REFERRAL and keep and card.key in keep:
                continue
            if card.key in found or (card.department is not None and card.department == department):
                card.unsupported = 0
                continue
            card.unsupported += 1
            if card.passing and card.unsupported >= RETIRE_AFTER:
                retired.append(self.cards.pop(card.prompt_id))
        return retired

    def crisis(self, numbers: set[str], stays: Callable[[LiveCard], bool] | None = None) -> list[LiveCard]:
        """A crisis card takes over: the cards not for its numbers retire, but a knowledge card ``stays``
        says is about the crisis (``CallLevel.about_crisis``)."""
        retired = [c for c in self.cards.values() if not (c.kind == PromptKind.REFERRAL and c.key in numbers)
                   and not (c.kind == PromptKind.KNOWLEDGE and stays is not None and stays(c))]
        for card in retired:
            del self.cards[card.prompt_id]
        return retired

    def drop(self, prompt_id: str) -> LiveCard | None:
        return self.cards.pop(prompt_id, None)
