"""Server configuration: one frozen dataclass, parsed strictly from CLI flags and ``ASSIST_*`` variables.

Precedence: command-line flag, then environment variable, then the default.
Every value is checked against its accepted range; a bad one raises
``ConfigError`` naming the flag or variable and what it accepts.  Unknown
``ASSIST_*`` variables are ignored (other tools share the prefix).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KIB = 1024
MIB = 1024 * KIB
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """An invalid configuration value; the message names its source and the accepted values."""


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    env: str | None  # None: command line only
    accepted: str
    parse: Callable[[str], Any]
    check: Callable[[Any], bool]


def _int(lo: int, hi: int) -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    return (
        f"an integer from {lo} to {hi}",
        lambda raw: int(raw.strip()),
        lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
    )


def _float(lo: float, hi: float) -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    return (
        f"a number from {lo:g} to {hi:g}",
        lambda raw: float(raw.strip()),
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi,
    )


def _bool() -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    def parse(raw: str) -> bool:
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(raw)

    return ("one of " + "/".join(_TRUE + _FALSE), parse, lambda v: isinstance(v, bool))


def _path() -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    def parse(raw: str) -> Path | None:
        return Path(raw).expanduser() if raw.strip() else None

    return ("a path (empty for none)", parse, lambda v: v is None or isinstance(v, Path))


def _host() -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    def ok(v: Any) -> bool:
        return isinstance(v, str) and 0 < len(v) <= 253 and v.isprintable() and " " not in v

    return ("a host name or IP address", lambda raw: raw.strip(), ok)


def _choice(options: tuple[str, ...]) -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    return ("one of " + ", ".join(options), lambda raw: raw.strip().upper(), lambda v: v in options)


_SPECS: tuple[_Spec, ...] = tuple(
    _Spec(name, env, *kind)
    for name, env, kind in (
        ("host", "ASSIST_HOST", _host()),
        ("port", "ASSIST_PORT", _int(0, 65535)),
        ("model_dir", None, _path()),  # ASSIST_MODEL is read by assist.audio.models.resolve_model_dir
        ("max_frame_bytes", "ASSIST_MAX_FRAME_BYTES", _int(1 * KIB, 16 * MIB)),
        ("max_calls", "ASSIST_MAX_CALLS", _int(1, 10_000)),
        ("max_subscribers", "ASSIST_MAX_SUBSCRIBERS", _int(1, 100_000)),
        ("audio_queue_chunks", "ASSIST_AUDIO_QUEUE_CHUNKS", _int(1, 10_000)),
        ("subscriber_queue_size", "ASSIST_SUBSCRIBER_QUEUE_SIZE", _int(1, 100_000)),
        ("send_queue_size", "ASSIST_SEND_QUEUE_SIZE", _int(1, 100_000)),
        ("decode_threads", "ASSIST_DECODE_THREADS", _int(0, 256)),
        ("max_coalesce_seconds", "ASSIST_MAX_COALESCE_SECONDS", _float(0.02, 10.0)),
        ("max_call_seconds", "ASSIST_MAX_CALL_SECONDS", _float(1.0, 24 * 3600.0)),
        ("start_timeout_seconds", "ASSIST_START_TIMEOUT_SECONDS", _float(0.1, 3600.0)),
        ("gate", "ASSIST_GATE", _bool()),
        ("gate_snr_db", "ASSIST_GATE_SNR_DB", _float(4.0, 40.0)),
        ("gate_min_level_dbfs", "ASSIST_GATE_MIN_LEVEL_DBFS", _float(-100.0, 0.0)),
        ("gate_hangover_ms", "ASSIST_GATE_HANGOVER_MS", _int(0, 60_000)),
        ("db_path", "ASSIST_DB", _path()),
        ("store", "ASSIST_STORE", _bool()),
        ("keep_originals", "ASSIST_KEEP_ORIGINALS", _bool()),
        ("db_synchronous", "ASSIST_DB_SYNCHRONOUS", _choice(("NORMAL", "FULL"))),
        ("kb_path", "ASSIST_KB", _path()),
        ("analysis", "ASSIST_ANALYSIS", _bool()),
        ("static_dir", "ASSIST_STATIC_DIR", _path()),
        ("log_level", "ASSIST_LOG_LEVEL", _choice(LOG_LEVELS)),
    )
)
_BY_NAME: dict[str, _Spec] = {s.name: s for s in _SPECS}


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``assist serve`` can be told.  Sizes in bytes, times in seconds."""

    host: str = "127.0.0.1"
    port: int = 8765
    model_dir: Path | None = None  # --model; None: $ASSIST_MODEL or the newest installed model
    max_frame_bytes: int = 256 * KIB  # largest audio/text message accepted on /ws/call
    max_calls: int = 64  # simultaneous calls
    max_subscribers: int = 256  # simultaneous /ws/subscribe sockets
    audio_queue_chunks: int = 50  # per channel; a full queue makes that call's reader wait
    subscriber_queue_size: int = 256  # events queued per subscriber before dropping
    send_queue_size: int = 256  # events queued per call socket before dropping partials
    decode_threads: int = 0  # 0: one per CPU core
    max_coalesce_seconds: float = 1.0  # queued audio decoded in one go, at most this much
    max_call_seconds: float = 4 * 3600.0
    start_timeout_seconds: float = 10.0  # a call socket must send 'start' within this
    gate: bool = True  # skip decoding of silence (assist.audio.vad.GateConfig)
    gate_snr_db: float = 12.0  # speech must be this far above the noise floor
    gate_min_level_dbfs: float = -50.0  # ... and above this absolute level
    gate_hangover_ms: int = 500  # quiet time before the gate closes
    db_path: Path | None = None  # SQLite store; None: $ASSIST_DB or var/assist.sqlite3
    store: bool = True  # keep calls, utterances, prompts and alerts in the database
    keep_originals: bool = False  # also store unmasked utterances (personal numbers); off by default
    db_synchronous: str = "NORMAL"  # NORMAL: survives a crash; FULL: also a power cut (slower commits)
    kb_path: Path | None = None  # knowledge base (JSONL/CSV); None: the shipped sample
    analysis: bool = True  # live assist: prompts, call state and alerts
    static_dir: Path | None = None  # overlay/dashboard files; None: client/ of the checkout
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for spec in _SPECS:
            value = getattr(self, spec.name)
            if not spec.check(value):
                raise ConfigError(f"{spec.name}={value!r} is invalid: expected {spec.accepted}")

    @property
    def threads(self) -> int:
        """Decode threads to start: ``decode_threads`` or the CPU count."""
        return self.decode_threads or os.cpu_count() or 2

    @property
    def websocket_max_size(self) -> int:
        """Websocket layer limit: above ``max_frame_bytes`` so the server can answer with an error event."""
        return 2 * self.max_frame_bytes + 64 * KIB

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        flags: Mapping[str, str | None] | None = None,
    ) -> ServerConfig:
        """Build from ``ASSIST_*`` variables and flags (raw strings by field name; None = not given)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in _SPECS:
            if spec.env is not None and spec.env in env:
                values[spec.name] = _parse(spec, env[spec.env], spec.env)
        for name, raw in (flags or {}).items():
            if raw is None:
                continue
            if name not in _BY_NAME:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = _parse(_BY_NAME[name], raw, "--" + name.replace("_", "-"))
        return cls(**values)

    def replace(self, **changes: Any) -> ServerConfig:
        return dataclasses.replace(self, **changes)


def _parse(spec: _Spec, raw: str, source: str) -> Any:
    try:
        value = spec.parse(raw)
    except ValueError:
        value = _INVALID
    if value is _INVALID or not spec.check(value):
        raise ConfigError(f"{source}={raw!r} is invalid: expected {spec.accepted}")
    return value


_INVALID = object()


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, accepted values) for every setting read from the environment."""
    defaults = ServerConfig()
    return [(s.env, repr(getattr(defaults, s.name)), s.accepted) for s in _SPECS if s.env is not None]
