"""Server events back from their JSON form: the other half of ``Event.to_dict``.

Clients of the server (the training replay, the training report of a stored
call) receive JSON objects; ``decode_event`` turns one into the typed event it
encodes, so code past that edge reads fields, never ``.get("key")``.  Decoding is
driven by the dataclass fields and their annotations: strings, numbers, booleans,
``StrEnum`` members, optional values, tuples and nested dataclasses.  A prompt's
``data`` is decoded as the payload type of its ``kind``.  Unknown fields are
ignored (later versions add some, docs/protocol.md); a missing or ill-typed
field raises ``DecodeError``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Final, TypeVar, cast

from assist.protocol import events as ev
from assist.protocol.enums import PromptKind
from assist.protocol.payloads import PAYLOADS, PromptData

T = TypeVar("T")


class DecodeError(ValueError):
    """A JSON object is not the event or payload it claims to be."""


# Server -> client events a client may decode (``type`` -> class).
SERVER_EVENTS: Final[dict[str, type[ev.Event]]] = {
    cls.type: cls
    for cls in (
        ev.Ready, ev.Transcript, ev.Error, ev.Ended, ev.Prompt, ev.CallState, ev.Alert, ev.AlertAcknowledged,
        ev.CallStarted, ev.CallEnded, ev.Subscribed, ev.Ticket,
    )
}


def decode_event(obj: Mapping[str, object]) -> ev.Event | None:
    """The event ``obj`` encodes, or None for a ``type`` this program does not know."""
    cls = SERVER_EVENTS.get(str(obj.get("type")))
    if cls is None:
        return None
    return decode(cls, obj)


def decode_events(objs: Iterable[Mapping[str, object]]) -> list[ev.Event]:
    """Every known event of ``objs`` in order (unknown types are skipped)."""
    return [e for e in map(decode_event, objs) if e is not None]


def decode_payload(kind: PromptKind, obj: object) -> PromptData:
    """The ``data`` of a prompt of ``kind``."""
    return decode(PAYLOADS[kind], obj)


def decode(cls: type[T], obj: object, where: str = "") -> T:
    """An instance of the dataclass ``cls`` from its JSON object."""
    where = where or cls.__name__
    if not isinstance(obj, Mapping):
        raise DecodeError(f"{where}: expected an object, got {type(obj).__name__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {}
    for f in dataclasses.fields(cast(type, cls)):
        if f.name not in obj:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{where}: the field {f.name!r} is missing")
            continue
        raw = obj[f.name]
        if cls is ev.Prompt and f.name == "data":
            kind = obj.get("kind")
            if not isinstance(kind, str) or kind not in PAYLOADS:
                raise DecodeError(f"{where}.kind: {kind!r} is not one of {', '.join(PromptKind)}")
            values[f.name] = decode_payload(PromptKind(kind), raw)
        else:
            values[f.name] = _value(hints[f.name], raw, f"{where}.{f.name}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise DecodeError(f"{where}: {exc}") from exc


def _value(tp: object, raw: object, where: str) -> object:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(tp)
        if raw is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _value(option, raw, where)
            except DecodeError as exc:
                errors.append(str(exc))
        raise DecodeError("; ".join(errors))
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(raw, list | tuple):
            raise DecodeError(f"{where}: expected a list")
        item = args[0]
        return tuple(_value(item, x, f"{where}[{i}]") for i, x in enumerate(raw))
    if origin is dict:
        key_tp, value_tp = typing.get_args(tp)
        if not isinstance(raw, Mapping):
            raise DecodeError(f"{where}: expected an object")
        return {_value(key_tp, k, where): _value(value_tp, v, f"{where}.{k}") for k, v in raw.items()}
    if isinstance(tp, type):
        if issubclass(tp, StrEnum):
            if isinstance(raw, str) and raw in tp._value2member_map_:
                return tp(raw)
            raise DecodeError(f"{where}: {raw!r} is not one of {', '.join(tp)}")
        if tp is bool:
            if isinstance(raw, bool):
                return raw
        elif tp is float:
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return float(raw)
        elif tp is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
        elif tp is str:
            if isinstance(raw, str):
                return raw
        elif dataclasses.is_dataclass(tp):
            return decode(tp, raw, where)
        raise DecodeError(f"{where}: expected {tp.__name__}, got {type(raw).__name__}")
    raise DecodeError(f"{where}: cannot decode the type {tp!r}")
