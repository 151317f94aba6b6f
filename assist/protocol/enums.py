"""The fixed value sets of the wire protocol (docs/protocol.md), one ``StrEnum`` each.

A member *is* its wire string (``Role.CALLER == "caller"``), so JSON encoding needs
no conversion and comparisons with plain strings still hold; decoding a string
outside the set raises ``ValueError``.  The browser's display names for these
values live in ``client/labels.js``; ``tests/protocol/test_enums.py`` checks that
they cover exactly these members.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who speaks on a channel: a mono call carries both voices as ``mixed``."""

    AGENT = "agent"
    CALLER = "caller"
    MIXED = "mixed"

    @property
    def is_caller(self) -> bool:
        """The caller's words may be on this channel (caller or mixed)."""
        return self is not Role.AGENT

    @property
    def is_agent(self) -> bool:
        """The operator's words may be on this channel (agent or mixed)."""
        return self is not Role.CALLER


class Emotion(StrEnum):
    """The caller's emotion, as the analysis engine labels it (assist/nlp/data/emotion.toml)."""

    ANGER = "愤怒"
    ANXIETY = "焦虑"
    DISAPPOINTMENT = "失望"
    DESPAIR = "绝望"
    CALM = "平静"
    SATISFIED = "满意"

    @property
    def negative(self) -> bool:
        """Anger, anxiety, disappointment or despair: worth a card and a colour."""
        return self not in (Emotion.CALM, Emotion.SATISFIED)


NEGATIVE_EMOTIONS: tuple[Emotion, ...] = tuple(e for e in Emotion if e.negative)


class Category(StrEnum):
    """The request category of a call (12345 hotline categories, assist/nlp/data/intent.toml)."""

    SUGGESTION = "建议"
    GENERAL = "一般诉求"
    HELP = "求助"
    COMPLAINT = "投诉举报"
    CONSULTATION = "咨询"
    PRAISE = "表扬"


class PromptKind(StrEnum):
    """What an operator card is about; each kind has one payload type (assist/protocol/payloads.py)."""

    EMOTION = "emotion"
    CATEGORY = "category"
    REFERRAL = "referral"
    KNOWLEDGE = "knowledge"
    EMPATHY = "empathy"
    BANNED = "banned"
    CRITICAL = "critical"
    SAFETY = "safety"
    HANDLING = "handling"


class PromptAction(StrEnum):
    SHOW = "show"
    UPDATE = "update"
    WITHDRAW = "withdraw"


class AlertKind(StrEnum):
    BANNED = "banned"
    ESCALATION = "escalation"
    CRITICAL = "critical"
    COLLECTIVE = "collective"  # a threat of collective action (拉横幅, 堵门, 集体上访): a notice, not a crisis
    PETITION = "petition"  # a threat to go over the hotline's head (信访, 越级上访, 找媒体曝光): a notice
    HANDLING = "handling"  # the operator handled a caller at risk as a routine matter (the live handling nudge)
    STOOD_DOWN = "stood_down"  # the operator confirmed the caller's correction of a danger: the crisis is over


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Encoding(StrEnum):
    """Sample encoding of call audio: 16-bit little-endian PCM or G.711 (1 byte per sample)."""

    PCM_S16LE = "pcm_s16le"
    MULAW = "mulaw"
    ALAW = "alaw"


class CallMode(StrEnum):
    """A live call of an agent, or a training replay (trainer tokens)."""

    LIVE = "live"
    TRAINING = "training"


class Source(StrEnum):
    """What a call streams: audio frames (recognised by Vosk) or timed transcript lines."""

    AUDIO = "audio"
    TRANSCRIPT = "transcript"


class EndReason(StrEnum):
    """Why a call ended (``ended.summary.reason``, the store's ``end_reason``)."""

    COMPLETED = "completed"
    CLIENT_GONE = "client_gone"
    INTERRUPTED = "interrupted"
    ERROR = "error"
    SHUTDOWN = "shutdown"
