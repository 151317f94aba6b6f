"""Server configuration, defined once: every setting is one field of ``ServerConfig``.

A field carries its default, and in its metadata (``Setting``) the ``ASSIST_*``
variable, the ``assist serve`` flag, the accepted values and the help text.
From that one definition come the environment parsing (``ServerConfig.load``),
the command-line flags and the settings table of docs/server.md and
docs/security.md (``assist.settings_views``); a test fails when the docs differ.

Precedence: command-line flag, then environment variable, then the default.
Every value is checked against its accepted range; a bad one raises
``ConfigError`` naming the flag or variable and what it accepts.  Unknown
``ASSIST_*`` variables are ignored (other tools share the prefix).

Runtime paths (database, token file, models) default to the data directory
(``--data-dir``, else the working directory): ``assist.paths``.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assist import paths
from assist.live.decode_gate import TRAINING_SHARE
from assist.live.stable import STABLE_PARTIAL
from assist.protocol.pace import LIVE_MAX_SPEED, LIVE_REFUSE_SPEED
from assist.settings_kinds import (
    AUTH_MODES,
    BOOL,
    CLUSTER,
    DB_SYNC_MODES,
    HOST,
    HOSTS,
    KIB,
    LOG_LEVELS,
    MIB,
    NODE,
    ORIGINS,
    PATH,
    SECURITY,
    SETTING_KEY,
    SPEED,
    URL,
    Setting,
    choice,
    floats,
    ints,
    meta,
    parse_raw,
)
from assist.settings_kinds import ConfigError as ConfigError  # part of the settings' interface

# Re-exported: the runtime paths belong with the settings (app and the CLIs take them from here).
default_token_file = paths.default_token_file

# Defaults of the transport's heartbeats and stop (assist.web.heartbeat, assist.web.limits, assist.web.server).
HEARTBEAT_INTERVAL = 15.0  # websocket ping every 15 s...
HEARTBEAT_TIMEOUT = 15.0   # ...closed when no pong within 15 s...
CLOSE_TIMEOUT = 5.0        # ...and the closing handshake abandoned after 5 s: a silent peer is gone < 40 s
SHUTDOWN_GRACE = 8.0       # SIGTERM: calls get this long to flush, the process exits within 10 s


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``assist serve`` can be told.  Sizes in bytes, times in seconds."""

    host: str = field(default="127.0.0.1", metadata=meta(HOST, "interface to listen on", "ASSIST_HOST", "--host",
                                                         metavar="HOST"))
    port: int = field(default=8765, metadata=meta(ints(0, 65535), "TCP port; 0 = any free port", "ASSIST_PORT",
                                                  "--port", metavar="PORT"))
    model_dir: Path | None = field(default=None, metadata=meta(
        PATH, "Vosk model directory", None, "--model", metavar="DIR",
        default_text="$ASSIST_MODEL (a directory or an installed model's name), else the newest installed model"))
    speech_model: bool = field(default=True, metadata=meta(
        BOOL, "run without a speech model: only transcript-source calls (training replays, --demo)",
        None, "--no-model", switch="off", default_text="a model is loaded"))
    demo: bool = field(default=False, metadata=meta(
        BOOL, "replay the sample calls in a loop (training mode, no authentication, database var/demo.sqlite3); "
        "pages show 演示", None, "--demo", switch="on"))
    demo_speed: float = field(default=1.0, metadata=meta(
        floats(0.5, 100.0), "pace of the demo calls, times real time", "ASSIST_DEMO_SPEED"))
    data_dir: Path | None = field(default=None, metadata=meta(
        PATH, "where var/ (database, tokens) and models/ live", paths.DATA_DIR_ENV, "--data-dir", metavar="DIR",
        default_text="the working directory"))
    models_dir: Path | None = field(default=None, metadata=meta(
        PATH, "installed models (`assist models`)", paths.MODELS_DIR_ENV, "--models-dir", metavar="DIR",
        default_text="models/ in the data directory"))
    max_frame_bytes: int = field(default=256 * KIB, metadata=meta(
        ints(1 * KIB, 16 * MIB, "1024–16 MiB"), "largest message on /ws/call", "ASSIST_MAX_FRAME_BYTES"))
    max_calls: int = field(default=64, metadata=meta(
        ints(1, 10_000), "simultaneous calls; one more gets too_many_calls / 1013", "ASSIST_MAX_CALLS", "--max-calls"))
    max_subscribers: int = field(default=256, metadata=meta(
        ints(1, 100_000), "simultaneous /ws/subscribe sockets", "ASSIST_MAX_SUBSCRIBERS"))
    audio_queue_chunks: int = field(default=50, metadata=meta(
        ints(1, 10_000), "audio messages queued per channel before that call's socket is paused",
        "ASSIST_AUDIO_QUEUE_CHUNKS"))
    subscriber_queue_size: int = field(default=256, metadata=meta(
        ints(1, 100_000), "events queued per subscriber before dropping", "ASSIST_SUBSCRIBER_QUEUE_SIZE"))
    send_queue_size: int = field(default=256, metadata=meta(
        ints(1, 100_000), "events queued for a call socket before partials are dropped", "ASSIST_SEND_QUEUE_SIZE"))
    decode_threads: int = field(default=0, metadata=meta(
        ints(0, 256), "decoding threads shared by all calls; 0 = one per CPU core", "ASSIST_DECODE_THREADS",
        "--decode-threads"))
    max_coalesce_seconds: float = field(default=1.0, metadata=meta(
        floats(0.02, 10.0), "audio that has piled up is decoded in one go, at most this much",
        "ASSIST_MAX_COALESCE_SECONDS"))
    max_call_seconds: float = field(default=4 * 3600.0, metadata=meta(
        floats(1.0, 24 * 3600.0), "longest call (call_too_long)", "ASSIST_MAX_CALL_SECONDS"))
    start_timeout_seconds: float = field(default=10.0, metadata=meta(
        floats(0.1, 3600.0), "a new socket must send start/subscribe within this", "ASSIST_START_TIMEOUT_SECONDS"))
    gate: bool = field(default=True, metadata=meta(
        BOOL, "voice gate: skip decoding silence; --no-gate decodes silence too", "ASSIST_GATE", "--no-gate",
        switch="off"))
    gate_snr_db: float = field(default=12.0, metadata=meta(
        floats(4.0, 40.0), "speech must be this far above the noise floor", "ASSIST_GATE_SNR_DB"))
    gate_min_level_dbfs: float = field(default=-50.0, metadata=meta(
        floats(-100.0, 0.0), "... and above this absolute level", "ASSIST_GATE_MIN_LEVEL_DBFS"))
    gate_hangover_ms: int = field(default=500, metadata=meta(
        ints(0, 60_000), "quiet time before a speech segment is closed and finalised", "ASSIST_GATE_HANGOVER_MS"))
    pool_warm: int = field(default=2, metadata=meta(
        ints(0, 256), "warm recognizers built at start-up and kept for reuse across calls (assist.audio.pool)",
        "ASSIST_POOL_WARM"))
    pool_max: int = field(default=16, metadata=meta(
        ints(0, 1024), "idle warm recognizers kept at most (about 65-120 MB each, docs/performance.md)",
        "ASSIST_POOL_MAX"))
    pool_idle_seconds: float = field(default=300.0, metadata=meta(
        floats(1.0, 86_400.0), "recognizers beyond pool_warm are dropped after this long idle",
        "ASSIST_POOL_IDLE_SECONDS"))
    pool_max_calls: int = field(default=50, metadata=meta(
        ints(1, 1_000_000), "a pooled recognizer that has served this many calls is retired, not kept "
        "(its caches grow with every call)", "ASSIST_POOL_MAX_CALLS"))
    pool_refresh: bool = field(default=True, metadata=meta(
        BOOL, "after pool_idle_seconds without calls, kept recognizers that served calls are replaced by "
        "freshly warmed ones (memory back to its post-warm-up level)", "ASSIST_POOL_REFRESH"))
    pool_warmup_audio: Path | None = field(default=None, metadata=meta(
        PATH, "speech the pool decodes through each new recognizer before it serves: a 16-bit mono WAV in "
        "the model's language (assist.audio.pool)", "ASSIST_POOL_WARMUP_AUDIO", "--pool-warmup-audio",
        metavar="WAV", default_text="warmup.wav in the model directory, else the shipped Mandarin speech"))
    db_path: Path | None = field(default=None, metadata=meta(
        PATH, "SQLite store of calls, utterances, prompts and alerts", paths.DB_ENV, "--db", metavar="PATH",
        default_text="var/assist.sqlite3 in the data directory"))
    store: bool = field(default=True, metadata=meta(
        BOOL, "keep calls, utterances, prompts and alerts; --no-store keeps nothing on disk", "ASSIST_STORE",
        "--no-store", switch="off"))
    keep_originals: bool = field(default=False, metadata=meta(
        BOOL, "also store unmasked utterances (personal numbers)", "ASSIST_KEEP_ORIGINALS"))
    db_synchronous: str = field(default="NORMAL", metadata=meta(
        choice(DB_SYNC_MODES, upper=True), "NORMAL survives a crash; FULL also a power cut (slower commits)",
        "ASSIST_DB_SYNCHRONOUS"))
    kb_path: Path | None = field(default=None, metadata=meta(
        PATH, "knowledge base JSONL/CSV", "ASSIST_KB", "--kb", metavar="FILE", default_text="the shipped sample"))
    nlp_model: Path | None = field(default=None, metadata=meta(
        PATH, "learned analysis model directory of `assist train`", "ASSIST_NLP_MODEL", "--nlp-model", metavar="DIR",
        default_text="the shipped model (assist/nlp/data/model)"))
    analysis: bool = field(default=True, metadata=meta(
        BOOL, "live assist: prompts, call state and alerts", "ASSIST_ANALYSIS"))
    stable_partial_ms: int = field(default=round(STABLE_PARTIAL * 1000), metadata=meta(
        ints(0, 10_000), "a live partial unchanged this long gets the learned path (0: finals only; 250 "
        "brings learned cards to the caller's pauses, at a cost in streams held)",
        "ASSIST_STABLE_PARTIAL_MS"))
    static_dir: Path | None = field(default=None, metadata=meta(
        PATH, "overlay, dashboard and history pages", "ASSIST_STATIC_DIR", "--static-dir", metavar="DIR",
        default_text="the pages shipped in the package (assist/web/static)"))
    log_level: str = field(default="INFO", metadata=meta(
        choice(LOG_LEVELS, upper=True), "log level", "ASSIST_LOG_LEVEL", "--log-level"))
    json_logs: bool = field(default=False, metadata=meta(
        BOOL, "log one JSON object per line (personal numbers and credentials masked)", "ASSIST_JSON_LOGS",
        "--json-logs", switch="on"))
    tokens_path: Path | None = field(default=None, metadata=meta(
        PATH, "token file of `assist tokens`", paths.TOKENS_ENV, "--tokens", metavar="FILE",
        default_text="var/tokens.toml in the data directory", group=SECURITY))
    auth: str = field(default="auto", metadata=meta(
        choice(AUTH_MODES, upper=False), "require tokens: auto = when the token file holds any (decided at start); "
        "on = always (an empty file refuses everyone); off = never", "ASSIST_AUTH", "--auth", group=SECURITY))
    insecure_no_auth: bool = field(default=False, metadata=meta(  # command line only: never from the environment
        BOOL, "allow a server without authentication on a non-loopback address (command line only)",
        None, "--insecure-no-auth", switch="on", group=SECURITY))
    allowed_origins: tuple[str, ...] = field(default=(), metadata=meta(
        ORIGINS, "browser page origins besides the server's own, e.g. https://ops.example.gov.cn",
        "ASSIST_ALLOWED_ORIGINS", "--allowed-origins", metavar="LIST", group=SECURITY))
    ticket_ttl: float = field(default=60.0, metadata=meta(
        floats(5.0, 3600.0), "seconds a browser ticket lives", "ASSIST_TICKET_TTL", group=SECURITY))
    cert_path: Path | None = field(default=None, metadata=meta(
        PATH, "TLS certificate (PEM): serve wss:// and https://", "ASSIST_TLS_CERT", "--cert", metavar="PEM",
        group=SECURITY))
    key_path: Path | None = field(default=None, metadata=meta(
        PATH, "TLS private key (PEM)", "ASSIST_TLS_KEY", "--key", metavar="PEM",
        default_text="in the certificate file", group=SECURITY))
    live_max_speed: float = field(default=LIVE_MAX_SPEED, metadata=meta(
        SPEED, "live audio above this × real time is throttled (0: no limit)", "ASSIST_LIVE_MAX_SPEED",
        "--live-max-speed", metavar="X", group=SECURITY))
    live_refuse_speed: float = field(default=LIVE_REFUSE_SPEED, metadata=meta(
        SPEED, "... and refused (rate_limited) when sustained above this (0: never)", "ASSIST_LIVE_REFUSE_SPEED",
        "--live-refuse-speed", metavar="X", group=SECURITY))
    training_share: float = field(default=TRAINING_SHARE, metadata=meta(
        floats(0.05, 1.0), "share of decode threads training replays may hold", "ASSIST_TRAINING_SHARE",
        group=SECURITY))
    heartbeat_interval: float = field(default=HEARTBEAT_INTERVAL, metadata=meta(
        floats(0.1, 300.0), "websocket ping every ... seconds", "ASSIST_HEARTBEAT_INTERVAL", "--heartbeat-interval",
        metavar="S", group=SECURITY))
    heartbeat_timeout: float = field(default=HEARTBEAT_TIMEOUT, metadata=meta(
        floats(0.1, 300.0), "close a peer without a pong after ... seconds (a silent peer is gone within 35 s)",
        "ASSIST_HEARTBEAT_TIMEOUT", "--heartbeat-timeout", metavar="S", group=SECURITY))
    shutdown_grace: float = field(default=SHUTDOWN_GRACE, metadata=meta(
        floats(0.5, 60.0), "SIGTERM: seconds calls get to send their last finals (keep ≤ 8 to exit within 10 s)",
        "ASSIST_SHUTDOWN_GRACE", "--shutdown-grace", metavar="S", group=SECURITY))
    allowed_hosts: tuple[str, ...] = field(default=(), metadata=meta(
        HOSTS, "Host names besides the bound address, localhost, 127.0.0.1 and [::1] (DNS rebinding)",
        "ASSIST_ALLOWED_HOSTS", "--allowed-hosts", metavar="LIST", group=SECURITY))
    max_calls_per_principal: int = field(default=4, metadata=meta(
        ints(1, 10_000), "concurrent calls one token (agent, trainer) may hold", "ASSIST_MAX_CALLS_PER_PRINCIPAL",
        group=SECURITY))
    max_subscriptions_per_principal: int = field(default=8, metadata=meta(
        ints(1, 100_000), "concurrent /ws/subscribe sockets one token may hold",
        "ASSIST_MAX_SUBSCRIPTIONS_PER_PRINCIPAL", group=SECURITY))
    idle_timeout: float = field(default=60.0, metadata=meta(
        floats(1.0, 24 * 3600.0), "a call that sends nothing this long ends with idle_timeout", "ASSIST_IDLE_TIMEOUT",
        group=SECURITY))
    max_line_chars: int = field(default=400, metadata=meta(
        ints(16, 100_000), "longest transcript line accepted (longer: line_too_long, not fatal)",
        "ASSIST_MAX_LINE_CHARS", group=SECURITY))
    database_url: str = field(default="", metadata=meta(
        URL, "sqlite:///PATH or postgresql://…; shared by the nodes of a cluster", "ASSIST_DATABASE_URL",
        "--database-url", metavar="URL", default_text="the SQLite file of --db", group=CLUSTER))
    redis_url: str = field(default="", metadata=meta(
        URL, "redis://host:port/db: events and shared state across nodes", "ASSIST_REDIS_URL", "--redis-url",
        metavar="URL", default_text="none (one node)", group=CLUSTER))
    node_id: str = field(default="", metadata=meta(
        NODE, "this node's name in the event stream", "ASSIST_NODE_ID", "--node-id", metavar="NAME",
        default_text="host-port", group=CLUSTER))
    drain_seconds: float = field(default=30.0, metadata=meta(
        floats(0.0, 3600.0), "SIGTERM in a cluster: not ready at once, current calls get this long to finish",
        "ASSIST_DRAIN_SECONDS", "--drain-seconds", metavar="S", group=CLUSTER))
    node_timeout: float = field(default=5.0, metadata=meta(
        floats(2.0, 600.0), "cluster: a node that has not beaten in Redis for this long is dead; a survivor "
        "marks its open calls interrupted", "ASSIST_NODE_TIMEOUT", "--node-timeout", metavar="S", group=CLUSTER))
    stream_maxlen: int = field(default=100_000, metadata=meta(
        ints(1000, 10_000_000), "events kept in the Redis stream (approximate trim)", "ASSIST_STREAM_MAXLEN",
        group=CLUSTER))

    def __post_init__(self) -> None:
        for name, spec in SETTINGS.items():
            value = getattr(self, name)
            if not spec.kind.check(value):
                raise ConfigError(f"{name}={value!r} is invalid: expected {spec.kind.accepted}")
        if self.key_path is not None and self.cert_path is None:
            raise ConfigError("a TLS key (--key / ASSIST_TLS_KEY) needs a certificate (--cert / ASSIST_TLS_CERT)")
        if self.pool_warm > self.pool_max:
            raise ConfigError(f"pool_warm={self.pool_warm} is above pool_max={self.pool_max}")
        if self.database_url and not self.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ConfigError(f"database_url={self.database_url!r}: expected sqlite:///PATH or postgresql://…")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"redis_url={self.redis_url!r}: expected redis://host:port/db")
        if self.live_max_speed and self.live_refuse_speed and self.live_refuse_speed < self.live_max_speed:
            raise ConfigError(
                f"live_refuse_speed={self.live_refuse_speed:g} is below live_max_speed={self.live_max_speed:g}: "
                "audio is throttled first and refused only when it goes on faster"
            )

    # ------------------------------------------------------------ derived values

    @property
    def threads(self) -> int:
        """Decode threads to start: ``decode_threads`` or the CPU count."""
        return self.decode_threads or os.cpu_count() or 2

    @property
    def close_timeout(self) -> float:
        """Seconds to wait for a closing handshake: at most 5 s, never longer than the heartbeat timeout."""
        return min(CLOSE_TIMEOUT, self.heartbeat_timeout)

    @property
    def silent_peer_seconds(self) -> float:
        """At most this long after it goes silent, a peer is closed (35 s by default)."""
        return self.heartbeat_interval + self.heartbeat_timeout + self.close_timeout

    @property
    def clustered(self) -> bool:
        """Shares events and state with other nodes (Redis configured)."""
        return bool(self.redis_url)

    @property
    def node_name(self) -> str:
        """This node's name in the event stream: ``node_id`` or machine-port (unique across machines,
        which a bound address such as 0.0.0.0 is not)."""
        return self.node_id or f"{socket.gethostname()}-{self.port}"

    @property
    def tls(self) -> bool:
        return self.cert_path is not None

    @property
    def websocket_max_size(self) -> int:
        """Websocket layer limit: above ``max_frame_bytes`` so the server can answer with an error event."""
        return 2 * self.max_frame_bytes + 64 * KIB

    @property
    def data_path(self) -> Path:
        """The data directory: ``data_dir`` or the working directory."""
        return paths.data_dir({}, self.data_dir)

    @property
    def database_path(self) -> Path:
        """``db_path``, else var/assist.sqlite3 (var/demo.sqlite3 in demo mode) in the data directory."""
        return self.db_path or self.data_path / (paths.DEMO_DB_FILE if self.demo else paths.DB_FILE)

    @property
    def token_path(self) -> Path:
        """``tokens_path``, else var/tokens.toml in the data directory."""
        return self.tokens_path or self.data_path / paths.TOKENS_FILE

    @property
    def models_path(self) -> Path:
        """``models_dir``, else models/ in the data directory."""
        return self.models_dir or self.data_path / paths.MODELS_DIR

    # ------------------------------------------------------------ building

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        flags: Mapping[str, str | None] | None = None,
    ) -> ServerConfig:
        """Build from ``ASSIST_*`` variables and flags (raw strings by field name; None = not given)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}  # raw strings parsed and checked one by one; __post_init__ checks again
        for name, spec in SETTINGS.items():
            if spec.env is not None and spec.env in env:
                values[name] = parse_raw(spec, env[spec.env], spec.env)
        for name, raw in (flags or {}).items():
            if raw is None:
                continue
            if name not in SETTINGS:
                raise ConfigError(f"unknown setting {name!r}")
            spec = SETTINGS[name]
            values[name] = parse_raw(spec, raw, spec.flag or "--" + name.replace("_", "-"))
        return cls(**values)

    def replace(self, **changes: Any) -> ServerConfig:
        return dataclasses.replace(self, **changes)


def _settings() -> dict[str, Setting]:
    found: dict[str, Setting] = {}
    for f in dataclasses.fields(ServerConfig):
        spec = f.metadata.get(SETTING_KEY)
        if not isinstance(spec, Setting):
            raise TypeError(f"ServerConfig.{f.name} has no Setting metadata")
        found[f.name] = spec
    return found


SETTINGS: dict[str, Setting] = _settings()  # by field name, in definition order


def default_of(name: str) -> object:
    """The default value of setting ``name``."""
    for f in dataclasses.fields(ServerConfig):
        if f.name == name:
            return f.default
    raise KeyError(name)


def default_text(name: str) -> str:
    """The default of ``name`` as the help and the docs show it."""
    spec = SETTINGS[name]
    if spec.default_text is not None:
        return spec.default_text
    value = default_of(name)
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == ():
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, accepted values) for every setting read from the environment."""
    return [(s.env, default_text(name), s.kind.accepted) for name, s in SETTINGS.items() if s.env is not None]
