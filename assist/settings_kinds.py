"""How a setting is described and read: ``Kind`` (raw string → checked value), ``Setting`` (the metadata
of one ``ServerConfig`` field: its variable, flag, accepted values and help) and the kinds in use.

``assist.settings`` holds the table itself (``ServerConfig``); this module holds no setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeGuard
from urllib.parse import urlsplit

KIB = 1024
MIB = 1024 * KIB
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
AUTH_MODES = ("auto", "on", "off")
DB_SYNC_MODES = ("NORMAL", "FULL")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

class ConfigError(ValueError):
    """An invalid configuration value; the message names its source and the accepted values."""


class Group(StrEnum):
    """Where a setting is listed: the ``assist serve --help`` section and the docs table."""

    SERVER = "server"
    SECURITY = "security (docs/security.md)"
    CLUSTER = "cluster (docs/deployment.md)"


@dataclass(frozen=True, slots=True)
class Kind:
    """How a raw string becomes a value, and which values are accepted."""

    accepted: str  # in error messages: "an integer from 0 to 65535"
    short: str  # in the docs table: "0–65535"
    parse: Callable[[str], object]  # raises ValueError for a malformed string
    check: Callable[[object], bool]
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Setting:
    """Everything about one setting besides its name, type and default."""

    kind: Kind
    help: str
    env: str | None = None  # None: not read from the environment
    flag: str | None = None  # None: no command-line flag
    switch: str | None = None  # the flag takes no value and stands for this raw value ("off" for --no-gate)
    metavar: str | None = None
    default_text: str | None = None  # how the default reads when the value itself says little (None paths)
    group: Group = Group.SERVER


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ints(lo: int, hi: int, short: str | None = None) -> Kind:
    return Kind(f"an integer from {lo} to {hi}", short or f"{lo}–{hi}", lambda raw: int(raw.strip()),
                lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi)


def floats(lo: float, hi: float) -> Kind:
    return Kind(f"a number from {lo:g} to {hi:g}", f"{lo:g}–{hi:g}", lambda raw: float(raw.strip()),
                lambda v: _number(v) and lo <= v <= hi)


def _parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(raw)


BOOL = Kind("one of " + "/".join(_TRUE + _FALSE), "on/off (1/0, true/false, yes/no)", _parse_bool,
            lambda v: isinstance(v, bool))
PATH = Kind("a path (empty for none)", "path", lambda raw: Path(raw).expanduser() if raw.strip() else None,
            lambda v: v is None or isinstance(v, Path))
HOST = Kind("a host name or IP address", "host or IP", lambda raw: raw.strip(),
            lambda v: isinstance(v, str) and 0 < len(v) <= 253 and v.isprintable() and " " not in v)
SPEED = Kind("0 (no limit) or a number from 1 to 100 (times real time)", "0 or 1–100",
             lambda raw: float(raw.strip()), lambda v: _number(v) and (v == 0 or 1 <= v <= 100))


def choice(options: tuple[str, ...], *, upper: bool) -> Kind:
    def parse(raw: str) -> str:
        return raw.strip().upper() if upper else raw.strip().lower()

    return Kind("one of " + ", ".join(options), "/".join(options), parse, lambda v: v in options, options)


def origin_valid(origin: str) -> bool:
    """``*``, ``null`` or ``scheme://host[:port]`` with scheme http or https and nothing after."""
    if origin in ("*", "null"):
        return True
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment or parts.username)
    )


def _parse_origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") if o.strip() not in ("*", "null") else o.strip()
                 for o in raw.split(",") if o.strip())


ORIGINS = Kind("comma-separated origins such as https://ops.example.gov.cn (or * or null)", "comma-separated origins",
               _parse_origins,
               lambda v: isinstance(v, tuple) and all(isinstance(o, str) and origin_valid(o) for o in v))

def _parse_hosts(raw: str) -> tuple[str, ...]:
    return tuple(h.strip().lower() for h in raw.split(",") if h.strip())


HOSTS = Kind("comma-separated host names the server answers to, such as assist.ops.example.gov.cn (or *)",
             "comma-separated host names", _parse_hosts,
             lambda v: isinstance(v, tuple) and all(
                 isinstance(h, str) and 0 < len(h) <= 253 and h.isprintable() and " " not in h and "/" not in h
                 for h in v))
URL = Kind("a URL (empty for none)", "URL", lambda raw: raw.strip(),
           lambda v: isinstance(v, str) and len(v) <= 2048 and v.isprintable() and " " not in v)
NODE = Kind("letters, digits and -_.: (at most 64)", "name", lambda raw: raw.strip(),
            lambda v: isinstance(v, str) and len(v) <= 64 and all(c.isalnum() or c in "-_.:" for c in v))

SETTING_KEY = "setting"
SECURITY = Group.SECURITY
CLUSTER = Group.CLUSTER


def meta(
    kind: Kind,
    help: str,
    env: str | None = None,
    flag: str | None = None,
    *,
    switch: str | None = None,
    metavar: str | None = None,
    default_text: str | None = None,
    group: Group = Group.SERVER,
) -> dict[str, Setting]:
    """The field metadata of one setting."""
    return {SETTING_KEY: Setting(kind, help, env, flag, switch, metavar, default_text, group)}


_INVALID = object()


def parse_raw(spec: Setting, raw: str, source: str) -> object:
    try:
        value = spec.kind.parse(raw)
    except ValueError:
        value = _INVALID
    if value is _INVALID or not spec.kind.check(value):
        raise ConfigError(f"{source}={raw!r} is invalid: expected {spec.kind.accepted}")
    return value
