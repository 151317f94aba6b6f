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
from urllib.parse import urlsplit

from assist.limits import (
    CLOSE_TIMEOUT,
    HEARTBEAT_INTERVAL,
    HEARTBEAT_TIMEOUT,
    LIVE_MAX_SPEED,
    LIVE_REFUSE_SPEED,
    SHUTDOWN_GRACE,
    TRAINING_SHARE,
    keepalive_kwargs,
)

KIB = 1024
MIB = 1024 * KIB
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
AUTH_MODES = ("auto", "on", "off")
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


def _word(options: tuple[str, ...]) -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    return ("one of " + ", ".join(options), lambda raw: raw.strip().lower(), lambda v: v in options)


def _speed() -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    def ok(v: Any) -> bool:
        number = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        return number and (v == 0 or 1 <= v <= 100)

    return ("0 (no limit) or a number from 1 to 100 (times real time)", lambda raw: float(raw.strip()), ok)


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


def _origins() -> tuple[str, Callable[[str], Any], Callable[[Any], bool]]:
    def parse(raw: str) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") if o.strip() not in ("*", "null") else o.strip()
                     for o in raw.split(",") if o.strip())

    def ok(v: Any) -> bool:
        return isinstance(v, tuple) and all(isinstance(o, str) and origin_valid(o) for o in v)

    return ("comma-separated origins such as https://ops.example.gov.cn (or * or null)", parse, ok)


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
        ("nlp_model", "ASSIST_NLP_MODEL", _path()),
        ("analysis", "ASSIST_ANALYSIS", _bool()),
        ("static_dir", "ASSIST_STATIC_DIR", _path()),
        ("log_level", "ASSIST_LOG_LEVEL", _choice(LOG_LEVELS)),
        ("json_logs", "ASSIST_JSON_LOGS", _bool()),
        ("tokens_path", "ASSIST_TOKENS", _path()),
        ("auth", "ASSIST_AUTH", _word(AUTH_MODES)),
        ("insecure_no_auth", None, _bool()),  # command line only: never switched on by the environment
        ("allowed_origins", "ASSIST_ALLOWED_ORIGINS", _origins()),
        ("ticket_ttl", "ASSIST_TICKET_TTL", _float(5.0, 3600.0)),
        ("cert_path", "ASSIST_TLS_CERT", _path()),
        ("key_path", "ASSIST_TLS_KEY", _path()),
        ("live_max_speed", "ASSIST_LIVE_MAX_SPEED", _speed()),
        ("live_refuse_speed", "ASSIST_LIVE_REFUSE_SPEED", _speed()),
        ("training_share", "ASSIST_TRAINING_SHARE", _float(0.05, 1.0)),
        ("heartbeat_interval", "ASSIST_HEARTBEAT_INTERVAL", _float(0.1, 300.0)),
        ("heartbeat_timeout", "ASSIST_HEARTBEAT_TIMEOUT", _float(0.1, 300.0)),
        ("shutdown_grace", "ASSIST_SHUTDOWN_GRACE", _float(0.5, 60.0)),
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
    nlp_model: Path | None = None  # learned model directory of `assist train`; None: the shipped model
    analysis: bool = True  # live assist: prompts, call state and alerts
    static_dir: Path | None = None  # overlay/dashboard files; None: client/ of the checkout
    log_level: str = "INFO"
    json_logs: bool = False  # log one JSON object per line instead of text
    tokens_path: Path | None = None  # token file; None: $ASSIST_TOKENS or var/tokens.toml
    # auto: on when the token file holds tokens; off is allowed on a loopback host only,
    # unless insecure_no_auth (--insecure-no-auth) says otherwise
    auth: str = "auto"
    insecure_no_auth: bool = False
    allowed_origins: tuple[str, ...] = ()  # browser page origins besides the server's own
    ticket_ttl: float = 60.0  # lifetime of a browser ticket
    cert_path: Path | None = None  # TLS certificate (PEM): serve wss:// and https://
    key_path: Path | None = None  # its key; None when the certificate file holds it too
    live_max_speed: float = LIVE_MAX_SPEED  # live audio above this × real time is throttled (0: no limit)
    live_refuse_speed: float = LIVE_REFUSE_SPEED  # ... and refused when sustained above this (0: never)
    training_share: float = TRAINING_SHARE  # share of decode slots training replays may hold
    heartbeat_interval: float = HEARTBEAT_INTERVAL  # websocket ping every ... seconds
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT  # ... and a peer without a pong this long is closed
    shutdown_grace: float = SHUTDOWN_GRACE  # SIGTERM: calls get this long to flush their transcripts

    def __post_init__(self) -> None:
        for spec in _SPECS:
            value = getattr(self, spec.name)
            if not spec.check(value):
                raise ConfigError(f"{spec.name}={value!r} is invalid: expected {spec.accepted}")
        if self.key_path is not None and self.cert_path is None:
            raise ConfigError("a TLS key (--key / ASSIST_TLS_KEY) needs a certificate (--cert / ASSIST_TLS_CERT)")
        if self.live_max_speed and self.live_refuse_speed and self.live_refuse_speed < self.live_max_speed:
            raise ConfigError(
                f"live_refuse_speed={self.live_refuse_speed:g} is below live_max_speed={self.live_max_speed:g}: "
                "audio is throttled first and refused only when it goes on faster"
            )

    @property
    def threads(self) -> int:
        """Decode threads to start: ``decode_threads`` or the CPU count."""
        return self.decode_threads or os.cpu_count() or 2

    @property
    def close_timeout(self) -> float:
        """Seconds to wait for a closing handshake: at most 5 s, never longer than the heartbeat timeout."""
        return min(CLOSE_TIMEOUT, self.heartbeat_timeout)

    @property
    def keepalive(self) -> dict[str, Any]:
        """Heartbeat keyword arguments for ``websockets.serve``."""
        return keepalive_kwargs(self.heartbeat_interval, self.heartbeat_timeout, self.close_timeout)

    @property
    def silent_peer_seconds(self) -> float:
        """At most this long after it goes silent, a peer is closed (35 s by default)."""
        return self.heartbeat_interval + self.heartbeat_timeout + self.close_timeout

    @property
    def tls(self) -> bool:
        return self.cert_path is not None

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
