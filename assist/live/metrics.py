"""Prometheus metrics of one server, in its own registry (no global state).

``Metrics()`` creates the metrics; the server calls the small recording methods
(``call_started``, ``decoded``, ``error`` ...) and serves ``render()`` at
``/metrics`` with ``CONTENT_TYPE``.  Label values come from closed sets
(error codes, call modes, channel roles, end reasons, queue names chosen in
code), never from client input, so the number of series stays bounded.
Metric names are listed in docs/security.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector

from assist import __version__
from assist.protocol.enums import CallMode, EndReason, Role
from assist.protocol.errors import ErrorCode

# Every name here is a legacy (underscore) name, so the classic text format is exact and
# understood by every Prometheus version.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MODES: tuple[str, ...] = tuple(CallMode)
END_REASONS: tuple[str, ...] = tuple(EndReason)
CHANNEL_ROLES: tuple[str, ...] = tuple(Role)
LATENCY_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
RTF_BUCKETS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)


def _closed(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else "other"


class _WithoutCreated:
    """The registry's metrics less the ``*_created`` timestamps (noise for this server)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            copy = Metric(family.name, family.documentation, family.type, family.unit)
            copy.samples = [s for s in family.samples if not s.name.endswith("_created")]
            yield copy


class Metrics:
    """The server's metrics; ``namespace`` prefixes every name (``assist_calls_active`` ...)."""

    def __init__(self, namespace: str = "assist", *, process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ns, reg = namespace, self.registry
        self.calls_active = Gauge("calls_active", "Calls in progress", ["mode"], namespace=ns, registry=reg)
        self.calls_total = Counter(
            "calls", "Calls ended, by mode and end reason", ["mode", "reason"], namespace=ns, registry=reg
        )
        self.channels_active = Gauge(
            "channels_active", "Audio channels being decoded", namespace=ns, registry=reg
        )
        self.subscribers_active = Gauge(
            "subscribers_active", "Connected overlay/dashboard subscribers", namespace=ns, registry=reg
        )
        self.audio_seconds_total = Counter(
            "audio_seconds", "Seconds of call audio received, by channel role", ["role"],
            namespace=ns, registry=reg,
        )
        self.decode_seconds_total = Counter(
            "decode_seconds", "Wall seconds spent in the recognizer", namespace=ns, registry=reg
        )
        self.decode_rtf = Histogram(
            "decode_rtf", "Real-time factor of decode jobs (decode seconds / audio seconds)",
            namespace=ns, registry=reg, buckets=RTF_BUCKETS,
        )
        self.queue_drops_total = Counter(
            "queue_drops", "Items dropped from bounded queues", ["queue"], namespace=ns, registry=reg
        )
        self.errors_total = Counter(
            "errors", "Errors reported to clients, by stable error code", ["code"], namespace=ns, registry=reg
        )
        self.auth_failures_total = Counter(
            "auth_failures", "Refused websocket upgrades and ticket requests, by HTTP status", ["status"],
            namespace=ns, registry=reg,
        )
        self.throttled_seconds_total = Counter(
            "throttled_seconds", "Seconds live calls were held back for sending audio too fast",
            namespace=ns, registry=reg,
        )
        self.transcript_latency_seconds = Histogram(
            "transcript_latency_seconds", "From audio received to its transcript sent",
            namespace=ns, registry=reg, buckets=LATENCY_BUCKETS,
        )
        self.prompt_latency_seconds = Histogram(
            "prompt_latency_seconds", "From audio received to the prompt it triggered sent",
            namespace=ns, registry=reg, buckets=LATENCY_BUCKETS,
        )
        self.build_info = Gauge("build_info", "Version of the server", ["version"], namespace=ns, registry=reg)
        self.build_info.labels(version=__version__).set(1)
        # zero series for every known label value, so rates and alerts work before the first event
        for mode in MODES:
            self.calls_active.labels(mode=mode)
            for reason in END_REASONS:
                self.calls_total.labels(mode=mode, reason=reason)
        for role in CHANNEL_ROLES:
            self.audio_seconds_total.labels(role=role)
        for code in ErrorCode:
            self.errors_total.labels(code=code.value)
        if process:
            ProcessCollector(namespace="", registry=reg)  # process_resident_memory_bytes, process_open_fds ...

    # ---------------------------------------------------------------- recording

    def call_started(self, mode: str) -> None:
        self.calls_active.labels(mode=_closed(mode, MODES)).inc()

    def call_ended(self, mode: str, reason: str) -> None:
        mode = _closed(mode, MODES)
        self.calls_active.labels(mode=mode).dec()
        self.calls_total.labels(mode=mode, reason=_closed(reason, END_REASONS)).inc()

    def audio_received(self, role: str, seconds: float) -> None:
        self.audio_seconds_total.labels(role=_closed(role, CHANNEL_ROLES)).inc(max(0.0, seconds))

    def decoded(self, audio_seconds: float, decode_seconds: float) -> None:
        """One decode job: ``decode_seconds`` of wall time for ``audio_seconds`` of audio."""
        if decode_seconds < 0:
            return
        self.decode_seconds_total.inc(decode_seconds)
        if audio_seconds > 0:
            self.decode_rtf.observe(decode_seconds / audio_seconds)

    def queue_dropped(self, queue: str, count: int = 1) -> None:
        """Items lost from the bounded queue named ``queue`` (a name chosen in code)."""
        if count > 0:
            self.queue_drops_total.labels(queue=queue).inc(count)

    def error(self, code: ErrorCode) -> None:
        self.errors_total.labels(code=ErrorCode(code).value).inc()

    def auth_failed(self, status: int) -> None:
        self.auth_failures_total.labels(status=str(int(status))).inc()

    def throttled(self, seconds: float) -> None:
        if seconds > 0:
            self.throttled_seconds_total.inc(seconds)

    def transcript_latency(self, seconds: float) -> None:
        self.transcript_latency_seconds.observe(max(0.0, seconds))

    def prompt_latency(self, seconds: float) -> None:
        self.prompt_latency_seconds.observe(max(0.0, seconds))

    def track(
        self,
        *,
        channels: Callable[[], float] | None = None,
        subscribers: Callable[[], float] | None = None,
    ) -> None:
        """Read these gauges from the server's own state at each scrape (no drift)."""
        if channels is not None:
            self.channels_active.set_function(channels)
        if subscribers is not None:
            self.subscribers_active.set_function(subscribers)

    # ---------------------------------------------------------------- exposition

    def render(self) -> bytes:
        """The Prometheus text exposition (serve with ``Content-Type: CONTENT_TYPE``)."""
        return generate_latest(_WithoutCreated(self.registry))
