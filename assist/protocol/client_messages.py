"""Parsing a client's text messages into typed events, or a ``ProtocolError`` with a stable error code.

What a client may send: on the call socket ``start``, ``line`` and ``end``; on the subscriber socket
``subscribe`` and ``ack``.  Every limit checked here is stated in docs/protocol.md.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar

from assist.protocol.enums import CallMode, Encoding, Role, Source
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import (
    MAX_ID_LENGTH,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    Acknowledge,
    End,
    Start,
    Subscribe,
    TranscriptLine,
)

_E = TypeVar("_E", bound=StrEnum)

ClientMessage: TypeAlias = Start | TranscriptLine | End | Subscribe | Acknowledge


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
