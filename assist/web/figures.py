"""The server's figures: totals of finished calls, queue drops turned into metrics, and ``/stats``.

``/stats`` (JSON counters for monitoring and benchmarks) holds no call content.  ``/metrics`` is the
Prometheus text of ``assist.live.metrics``, with the drop counters of the queues copied in first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Response

from assist.audio.pool import RecognizerPool
from assist.live.hub import Hub
from assist.live.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from assist.live.metrics import Metrics
from assist.live.pipeline import AssistPipeline
from assist.live.registry import CallRegistry
from assist.live.roles import RoleStats
from assist.web.call import CallConnection
from assist.web.http import SECURITY_HEADERS


class ServerFigures:
    """Counters kept across calls by one server."""

    def __init__(self, model: str, metrics: Metrics, hub: Hub, registry: CallRegistry,
                 pool: RecognizerPool | None, pipeline: AssistPipeline | None) -> None:
        self.model = model
        self.metrics = metrics
        self.hub = hub
        self.registry = registry
        self.pool = pool
        self.pipeline = pipeline
        self.started_at = 0.0
        self.pool_warm_cpu = 0.0
        self._totals: dict[str, float] = {
            "calls": 0, "audio_s": 0.0, "decode_cpu_s": 0.0, "decoded_s": 0.0, "call_events_dropped": 0
        }
        self._reasons: dict[str, int] = {}
        self._drops_reported: dict[str, int] = {}

    def account(self, conn: CallConnection) -> None:
        """Add a finished call's figures to the totals."""
        session = conn.session
        assert session is not None
        summary = session.summary
        reason = summary.reason if summary else "unknown"
        self._reasons[reason] = self._reasons.get(reason, 0) + 1
        self._totals["calls"] += 1
        self._totals["call_events_dropped"] += conn.dropped_events
        for st in session.role_stats().values():
            self._totals["audio_s"] += st.audio_in_s
            self._totals["decode_cpu_s"] += st.decode_cpu_s
            self._totals["decoded_s"] += st.audio_decoded_s

    def metrics_response(self, connections: Iterable[object]) -> Response:
        """``/metrics``: the Prometheus text, drop counters brought up to date first."""
        self._sync_drops(connections)
        body = self.metrics.render()
        headers = Headers([
            ("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
            *SECURITY_HEADERS,
        ])
        return Response(200, "OK", headers, body)

    def _sync_drops(self, connections: Iterable[object]) -> None:
        """Copy the queues' drop counters (monotonic totals) into the metrics as increments."""
        call_drops = self._totals["call_events_dropped"] + sum(
            c.dropped_events for c in connections if isinstance(c, CallConnection)
        )
        totals = {
            "subscriber": self.hub.stats.dropped,
            "call_socket": int(call_drops),
            "store": self.pipeline.store_failures if self.pipeline is not None else 0,
        }
        for queue, total in totals.items():
            delta = total - self._drops_reported.get(queue, 0)
            if delta > 0:
                self.metrics.queue_dropped(queue, delta)
                self._drops_reported[queue] = total

    def stats(self, auth: bool) -> dict[str, Any]:
        """Counters for monitoring and benchmarks (no call content)."""
        live: list[RoleStats] = [st for s in self.registry.sessions() for st in s.role_stats().values()]
        audio = self._totals["audio_s"] + sum(st.audio_in_s for st in live)
        cpu = self._totals["decode_cpu_s"] + sum(st.decode_cpu_s for st in live)
        decoded = self._totals["decoded_s"] + sum(st.audio_decoded_s for st in live)
        hub = self.hub.stats
        return {
            "model": self.model,
            "auth": auth,
            "uptime_s": round(time.time() - self.started_at, 1) if self.started_at else 0.0,
            "calls_active": len(self.registry),
            "calls_finished": int(self._totals["calls"]),
            "calls_by_reason": dict(self._reasons),
            "subscribers": hub.subscribers,
            "events_published": hub.published,
            "subscriber_events_dropped": hub.dropped,
            "call_events_dropped": int(self._totals["call_events_dropped"]),
            "channel_audio_s": round(audio, 3),
            "channel_audio_decoded_s": round(decoded, 3),
            "decode_cpu_s": round(cpu, 3),
            "rtf": round(cpu / audio, 4) if audio else 0.0,
            **self._pool_stats(),
            **self._learned_stats(),
        }

    def _learned_stats(self) -> dict[str, Any]:
        """How often the learned path ran: on finals, on stable partials, and finals that reused one."""
        if self.pipeline is None:
            return {}
        n = self.pipeline.learned
        summary = getattr(self.pipeline.analyzer, "model_summary", None)  # the Analyzer's; a stub may lack it
        model = (summary() if callable(summary) else "analysis off" if self.pipeline.analyzer is None
                 else "rules only: an analysis engine without a learned model")
        return {"analysis_model": model, "learned_finals": n.finals, "learned_stable_partials": n.stable,
                "learned_reused": n.reused, "learned_stable_busy": n.busy, "analysis_pending": n.pending,
                "learned_searched_after": n.searched_after}

    def _pool_stats(self) -> dict[str, Any]:
        if self.pool is None:
            return {}
        pool = self.pool.stats()
        return {"pool_idle": pool.idle, "pool_in_use": pool.in_use, "pool_created": pool.created,
                "pool_reused": pool.reused, "pool_dropped": pool.dropped, "pool_retired": pool.retired,
                "pool_refreshed": pool.refreshed, "pool_grown": pool.grown, "pool_maintaining": pool.maintaining,
                "pool_warm_hits": pool.warm_hits,
                "pool_warm_cpu_s": round(self.pool_warm_cpu, 3)}
