"""The ``data`` of each prompt kind: one frozen dataclass per ``PromptKind`` (docs/protocol.md).

``Prompt.data`` is one of these; its field names are the JSON keys the browser
reads (client/call-view.js).  ``PAYLOADS`` maps each kind to its type and
``payload_kind`` gives the kind of a payload, so a prompt's ``kind`` and ``data``
cannot disagree.  ``tests/protocol/test_payload_doc.py`` checks the table in
docs/protocol.md against these fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from assist.protocol.enums import Category, Emotion, PromptKind


@dataclass(frozen=True, slots=True)
class EmotionPayload:
    """The caller shows a negative emotion (a calm caller gets no card)."""

    label: Emotion
    intensity: float  # 0-1, one decimal (the newest card, following the call, has call_state's level)


@dataclass(frozen=True, slots=True)
class CategoryPayload:
    """The request category of the utterance and the department that would handle it."""

    intent: Category
    department: str | None


@dataclass(frozen=True, slots=True)
class ReferralPayload:
    """A number the caller should be referred to, with what to say."""

    number: str
    name: str
    reason: str
    script: str


@dataclass(frozen=True, slots=True)
class KnowledgePayload:
    """The best knowledge-base answer to the caller's question."""

    id: str
    question: str
    answer: str
    score: float  # 0-1: estimated probability that the entry answers the question
    source: str
    updated: str


@dataclass(frozen=True, slots=True)
class EmpathyPayload:
    """The three-step empathy script, in order: 情绪承接, 责任表态, 行动承诺."""

    label: Emotion  # the caller's emotion the script answers
    steps: tuple[str, ...]
    stage: int = 0  # the step to say now: advanced when the operator's words did the step before it


@dataclass(frozen=True, slots=True)
class BannedPayload:
    """The operator said a banned phrase (agent or mixed channel)."""

    rule: str
    said: str  # the words as heard
    suggestion: str  # the compliant wording


@dataclass(frozen=True, slots=True)
class CriticalPayload:
    """Risk to life or safety: why, the numbers to transfer to, and what the caller can do meanwhile."""

    reason: str | None
    referrals: tuple[str, ...]
    first_aid: tuple[str, ...] = ()  # 现场指导 for the card's numbers (first_aid.toml), in their order
    correction: str = ""  # the caller's words taking the danger back (不是着火 是烧纸), for the operator to confirm


@dataclass(frozen=True, slots=True)
class SafetyPayload:
    """A weaker sign of risk (not a crisis): the question to ask, and the numbers if it is confirmed."""

    question: str
    reason: str | None
    referrals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HandlingPayload:
    """In a crisis, before the transfer, the operator handled the caller at risk as a routine matter (a ticket,
    working days): the finding's name, the operator's words, and what to do instead (crisis.toml [routine])."""

    finding: str
    said: str
    suggestion: str


PromptData: TypeAlias = (
    EmotionPayload
    | CategoryPayload
    | ReferralPayload
    | KnowledgePayload
    | EmpathyPayload
    | BannedPayload
    | CriticalPayload
    | SafetyPayload
    | HandlingPayload
)

PAYLOADS: Final[dict[PromptKind, type[PromptData]]] = {
    PromptKind.EMOTION: EmotionPayload,
    PromptKind.CATEGORY: CategoryPayload,
    PromptKind.REFERRAL: ReferralPayload,
    PromptKind.KNOWLEDGE: KnowledgePayload,
    PromptKind.EMPATHY: EmpathyPayload,
    PromptKind.BANNED: BannedPayload,
    PromptKind.CRITICAL: CriticalPayload,
    PromptKind.SAFETY: SafetyPayload,
    PromptKind.HANDLING: HandlingPayload,
}

_KIND_OF: Final[dict[type[PromptData], PromptKind]] = {cls: kind for kind, cls in PAYLOADS.items()}


def payload_kind(data: PromptData) -> PromptKind:
    """The prompt kind whose payload ``data`` is; TypeError for anything else."""
    kind = _KIND_OF.get(type(data))
    if kind is None:
        raise TypeError(f"{type(data).__name__} is not a prompt payload")
    return kind
