"""Typed events and their one wire format (see docs/protocol.md).

Every text message on a websocket is one JSON object with a ``type`` key.  Each
event type is a small frozen dataclass; ``to_dict`` gives its wire form and
``parse_client_message`` turns a client's text message into an event or raises
``ProtocolError`` with a stable error code.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias, TypeVar

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
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.payloads import PromptData, payload_kind

_E = TypeVar("_E", bound=StrEnum)

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
MAX_ID_LENGTH = 128


def _clean(value: Any) -> Any:
    """Recursively convert dataclasses/tuples into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, 3)
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events: ``type`` names it on the wire."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        out.update(_clean(self))
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


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
    note: str = ""  # optional short note (what the supervisor did), at most MAX_ACK_NOTE characters


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


ClientMessage: TypeAlias = Start | TranscriptLine | End | Subscribe | Acknowledge


# ---------------------------------------------------------------- parsing


def _finite(value: Any) -> bool:
    """A real number of sane size (huge integers would overflow float arithmetic)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return abs(value) < 10**15
    return math.isfinite(value)


def _shown(value: Any, limit: int = 40) -> str:
    """A client value quoted in an error message, cut short (never echo a large payload back)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in obj:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{what}' needs the field '{key}'")
    value = obj[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' of '{what}' has the wrong type")
    if not isinstance(value, kind):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' of '{what}' has the wrong type")
    return value


def _ident(obj: dict[str, Any], key: str, what: str) -> str:
    value: str = _require(obj, key, str, what)
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"'{key}' must be 1 to {MAX_ID_LENGTH} printable characters"
        )
    return value


def _member(enum: type[_E], value: object) -> _E | None:
    """The member of ``enum`` whose wire string ``value`` is, or None (not a string, or not in the set)."""
    if not isinstance(value, str):
        return None
    try:
        return enum(value)
    except ValueError:
        return None


def _optional_ident(obj: dict[str, Any], key: str, what: str) -> str | None:
    return None if obj.get(key) is None else _ident(obj, key, what)


def parse_start(obj: dict[str, Any]) -> Start:
    known = {
        "type", "call_id", "agent_id", "sample_rate", "encoding", "channels", "roles",
        "resume_from", "mode", "source", "speed",
    }
    unknown = sorted(set(obj) - known)
    if unknown:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"unknown field(s) in 'start': {', '.join(unknown)}")
    call_id = _ident(obj, "call_id", "start")
    agent_id = _ident(obj, "agent_id", "start")
    rate = _require(obj, "sample_rate", int, "start")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_RATE,
            f"sample_rate {_shown(rate)} is not supported: use {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz",
        )
    encoding = _member(Encoding, obj.get("encoding", Encoding.PCM_S16LE))
    if encoding is None:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_ENCODING,
            f"encoding {_shown(obj.get('encoding'))} is not supported: use one of {', '.join(Encoding)}",
        )
    channels = obj.get("channels", 1)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels not in (1, 2):
        raise ProtocolError(ErrorCode.BAD_CHANNELS, "channels must be 1 or 2")
    roles_raw = obj.get("roles", [Role.MIXED] if channels == 1 else [Role.AGENT, Role.CALLER])
    if not isinstance(roles_raw, list) or not all(isinstance(r, str) for r in roles_raw):
        raise ProtocolError(ErrorCode.BAD_CHANNELS, "roles must be a list of role names")
    if len(roles_raw) != channels:
        raise ProtocolError(
            ErrorCode.BAD_CHANNELS, f"{channels} channel(s) need {channels} role(s), got {len(roles_raw)}"
        )
    members = [_member(Role, r) for r in roles_raw]
    roles = tuple(r for r in members if r is not None)
    if len(roles) != len(members):
        raise ProtocolError(ErrorCode.BAD_CHANNELS, f"roles must be among {', '.join(Role)}")
    if len(set(roles)) != len(roles) or (channels == 2 and Role.MIXED in roles):
        raise ProtocolError(ErrorCode.BAD_CHANNELS, "a stereo call needs two different roles: agent and caller")
    resume = obj.get("resume_from")
    if resume is not None:
        if not _finite(resume) or resume < 0:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "resume_from must be a non-negative number of seconds")
        resume = float(resume)
    mode = _member(CallMode, obj.get("mode", CallMode.LIVE))
    if mode is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "mode must be 'live' or 'training'")
    source = _member(Source, obj.get("source", Source.AUDIO))
    if source is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "source must be 'audio' or 'transcript'")
    speed = obj.get("speed", 1.0)
    if not _finite(speed):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "speed must be a number")
    if speed != 0 and not 0.25 <= speed <= 100:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "speed must be 0 (as fast as possible) or 0.25 to 100")
    return Start(
        call_id=call_id,
        agent_id=agent_id,
        sample_rate=rate,
        encoding=encoding,
        channels=channels,
        roles=roles,
        resume_from=resume,
        mode=mode,
        source=source,
        speed=float(speed),
    )


MAX_ACK_NOTE = 200
MAX_LINE_SECONDS = 24 * 3600.0
MAX_LINE_CHARS = 2000


def parse_line(obj: dict[str, Any]) -> TranscriptLine:
    role = _member(Role, _require(obj, "role", str, "line"))
    if role is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"role must be among {', '.join(Role)}", fatal=False)
    times = []
    for key in ("start", "end"):
        value = _require(obj, key, (int, float), "line")
        if not _finite(value) or not 0 <= value <= MAX_LINE_SECONDS:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' of 'line' must be seconds of call audio", fatal=False)
        times.append(float(value))
    if times[1] < times[0]:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "'end' of 'line' is before its 'start'", fatal=False)
    text = _require(obj, "text", str, "line")
    if len(text) > MAX_LINE_CHARS:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"'text' of 'line' is longer than {MAX_LINE_CHARS} characters", fatal=False
        )
    return TranscriptLine(role=role, start=times[0], end=times[1], text=text)


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Parse one text message from a client. Raises ``ProtocolError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(ErrorCode.BAD_JSON, "text message is not valid UTF-8") from exc
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, "text message is not valid JSON") from exc
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message must be a JSON object with a 'type'")
    kind = obj.get("type")
    if kind == "start":
        return parse_start(obj)
    if kind == "end":
        return End()
    if kind == "line":
        return parse_line(obj)
    if kind == "subscribe":
        every = obj.get("all", False)
        if not isinstance(every, bool):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "'all' must be true or false")
        sub = Subscribe(
            call_id=_optional_ident(obj, "call_id", "subscribe"),
            agent_id=_optional_ident(obj, "agent_id", "subscribe"),
            all=every,
        )
        if sum((sub.call_id is not None, sub.agent_id is not None, sub.all)) != 1:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "subscribe to exactly one of call_id, agent_id or all")
        return sub
    if kind == "ack":
        by = obj.get("by", "supervisor")
        if not isinstance(by, str) or not by or len(by) > MAX_ID_LENGTH or not by.isprintable():
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "'by' must be a short name")
        note = obj.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_ACK_NOTE:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'note' must be text of at most {MAX_ACK_NOTE} characters")
        note = "".join(c for c in " ".join(note.split()) if c.isprintable())  # one line, no control characters
        return Acknowledge(alert_id=_ident(obj, "alert_id", "ack"), by=by, note=note)
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message needs a string 'type'")
    raise ProtocolError(ErrorCode.BAD_MESSAGE, f"unknown message type {kind[:40]!r}")
