"""Typed events and their one wire format (see docs/protocol.md).

Every text message on a websocket is one JSON object with a ``type`` key.  Each
event type is a small frozen dataclass; ``to_dict`` gives its wire form
(``assist.protocol.client_messages`` parses what clients send).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from assist.protocol.enums import (
    AlertKind,
    CallMode,
    Category,
    Emotion,
    Encoding,
    EndReason,
    PromptAction,
    PromptKind,
    Role,
    Severity,
    Source,
)
from assist.protocol.errors import ProtocolError
from assist.protocol.payloads import PromptData, payload_kind

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
MAX_ID_LENGTH = 128


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}  # a dataclass's field names; None: not a dataclass


def _field_names(cls: type) -> tuple[str, ...] | None:
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        names = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
        _FIELD_NAMES[cls] = names
        return names


def _clean(value: Any) -> Any:
    """Recursively convert dataclasses/tuples into JSON-ready values (field names cached per class)."""
    if value is None or isinstance(value, (str, int)):  # StrEnum values are str, bool is int
        return value
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    names = _field_names(type(value))  # a dataclass instance (a dataclass itself is a ``type``)
    if names is not None:
        return {name: _clean(getattr(value, name)) for name in names}
    return value


# The wire text of recently encoded events: an event goes to its call's socket, to each page that
# watches and (in a cluster) to the event stream, and each would encode it again.  Events are frozen,
# so the text of the same object never changes; the entry keeps the object alive, so its id is not
# reused while cached.  Bounded: cleared when full.
_RECENT_JSON: dict[int, tuple[Event, str]] = {}
_RECENT_MAX = 512


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events: ``type`` names it on the wire."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        out.update(_clean(self))
        return out

    def to_json(self) -> str:
        hit = _RECENT_JSON.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        if len(_RECENT_JSON) >= _RECENT_MAX:
            _RECENT_JSON.clear()
        _RECENT_JSON[id(self)] = (self, text)
        return text


# ---------------------------------------------------------------- client -> server, call socket


@dataclass(frozen=True, slots=True)
class Start(Event):
    """Opens a call. ``roles[i]`` is the role of interleaved channel ``i``."""

    type: ClassVar[str] = "start"
    call_id: str
    agent_id: str
    sample_rate: int
    encoding: Encoding = Encoding.PCM_S16LE
    channels: int = 1
    roles: tuple[Role, ...] = (Role.MIXED,)
    # Resume an interrupted call: audio time (s) from which the client re-sends audio.
    resume_from: float | None = None
    # "live" (default) or "training" (replays; trainer role may stream faster than real time).
    mode: CallMode = CallMode.LIVE
    # "audio" (binary frames, recognised by Vosk) or "transcript" (timed ``line`` messages replayed
    # on the audio clock, for training rooms and for testing the Chinese pipeline without a model).
    source: Source = Source.AUDIO
    # Replay speed for the transcript source: 1 = real time, 2 = twice as fast, 0 = as fast as possible.
    speed: float = 1.0


@dataclass(frozen=True, slots=True)
class TranscriptLine(Event):
    """One timed utterance of a transcript-source call (``source: "transcript"``)."""

    type: ClassVar[str] = "line"
    role: Role
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class End(Event):
    """No more audio: flush, send the final transcripts and ``ended``."""

    type: ClassVar[str] = "end"


# ---------------------------------------------------------------- server -> client


@dataclass(frozen=True, slots=True)
class Ready(Event):
    type: ClassVar[str] = "ready"
    call_id: str
    model: str
    model_sample_rate: int
    roles: tuple[Role, ...]
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float
    conf: float = 1.0


@dataclass(frozen=True, slots=True)
class Transcript(Event):
    """Partial (growing) or final text of one utterance of one role.

    Times are seconds of call audio from the start of the call.  Partials of the
    same utterance share ``utterance_id``; the final closes it.
    """

    type: ClassVar[str] = "transcript"
    call_id: str
    role: Role
    utterance_id: str
    final: bool
    text: str
    start: float
    end: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class Error(Event):
    type: ClassVar[str] = "error"
    code: str
    message: str
    fatal: bool = False
    call_id: str | None = None

    @classmethod
    def from_exc(cls, exc: ProtocolError, call_id: str | None = None) -> Error:
        return cls(code=exc.code.value, message=exc.message, fatal=exc.fatal, call_id=call_id)


@dataclass(frozen=True, slots=True)
class CallSummary:
    duration: float
    utterances: dict[str, int]
    reason: EndReason
    audio_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Ended(Event):
    type: ClassVar[str] = "ended"
    call_id: str
    summary: CallSummary


# ---------------------------------------------------------------- prompts (live assist)

@dataclass(frozen=True, slots=True)
class Span:
    """Evidence: the words in the utterance text that triggered a prompt."""

    text: str
    start: int  # character offsets into the utterance's normalised text
    end: int


@dataclass(frozen=True, slots=True)
class Prompt(Event):
    """A card for the operator, tied to one utterance.

    ``prompt_id`` is stable for one (utterance, kind, key): the first time it is
    ``show``, later changes are ``update`` and a partial revised away gives
    ``withdraw`` (carrying the card's last ``data``).  ``data`` is the payload type of
    ``kind`` (``assist.protocol.payloads``, docs/protocol.md); a mismatch is a ``TypeError``.
    """

    type: ClassVar[str] = "prompt"
    prompt_id: str
    call_id: str
    role: Role
    utterance_id: str
    kind: PromptKind
    action: PromptAction
    audio_time: float
    span: Span | None
    data: PromptData

    def __post_init__(self) -> None:
        if payload_kind(self.data) != self.kind:
            raise TypeError(f"a {self.kind} prompt cannot carry {type(self.data).__name__}")


@dataclass(frozen=True, slots=True)
class EmotionLevel:
    label: Emotion
    intensity: float


@dataclass(frozen=True, slots=True)
class CallState(Event):
    """What the overlay needs about a call, resent whenever it changes."""

    type: ClassVar[str] = "call_state"
    call_id: str
    agent_id: str
    started_at: float  # unix time
    active: bool
    duration: float
    emotion: EmotionLevel
    intent: Category | None
    department: str | None
    referrals: tuple[str, ...] = ()
    warnings: int = 0
    critical: bool = False
    mode: CallMode = CallMode.LIVE
    crisis_numbers: tuple[str, ...] = ()  # the crisis card's numbers
    told: tuple[str, ...] = ()  # of them, those the operator said once the crisis stood (handed on or not)
    owed: tuple[str, ...] | None = None  # of them, those still owed the caller: not told, nor another of a kind where
    # one is enough (被困: 119 or 110; the training report's rule too); None: not said (every number not told)


@dataclass(frozen=True, slots=True)
class Alert(Event):
    """A supervisor alert; its ``message`` is for people."""

    type: ClassVar[str] = "alert"
    alert_id: str
    call_id: str
    agent_id: str
    kind: AlertKind
    severity: Severity
    message: str
    audio_time: float
    utterance_id: str | None
    created_at: float  # unix time
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    ack_note: str = ""  # the supervisor's short note with the acknowledgement ("" when none)
    # a continuing crisis is one alert: the same alert_id sent again with these updated (acknowledgement kept)
    count: int = 1  # how many times the call raised it (this alert and its re-raises)
    last_time: float | None = None  # audio time of the newest re-raise (None: never re-raised)
    last_at: float | None = None  # unix time of the newest re-raise


# ---------------------------------------------------------------- subscriber socket (overlay, dashboard)


@dataclass(frozen=True, slots=True)
class Subscribe(Event):
    """Subscribe to one call, one agent's current call, or (supervisors) all calls."""

    type: ClassVar[str] = "subscribe"
    call_id: str | None = None
    agent_id: str | None = None
    all: bool = False


@dataclass(frozen=True, slots=True)
class Acknowledge(Event):
    type: ClassVar[str] = "ack"
    alert_id: str
    by: str = "supervisor"
    note: str = ""  # optional short note (what the supervisor did), at most MAX_ACK_NOTE characters (client_messages)


@dataclass(frozen=True, slots=True)
class AlertAcknowledged(Event):
    type: ClassVar[str] = "alert_ack"
    alert_id: str
    call_id: str
    by: str
    at: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class CallStarted(Event):
    type: ClassVar[str] = "call_started"
    call_id: str
    agent_id: str
    started_at: float
    mode: CallMode = CallMode.LIVE


@dataclass(frozen=True, slots=True)
class CallEnded(Event):
    type: ClassVar[str] = "call_ended"
    call_id: str
    agent_id: str
    summary: CallSummary


@dataclass(frozen=True, slots=True)
class Subscribed(Event):
    """Answer to ``subscribe``: the current state so a late joiner can render at once."""

    type: ClassVar[str] = "subscribed"
    calls: tuple[CallState, ...]
    alerts: tuple[Alert, ...] = ()
    following: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket(Event):
    """A renewed short-lived ticket for a browser page's next connection (after ``subscribed``)."""

    type: ClassVar[str] = "ticket"
    ticket: str
    expires_in: int
