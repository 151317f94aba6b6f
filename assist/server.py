"""The websocket server: HTTP routing, connection bookkeeping, start and graceful stop.

Paths: ``/ws/call`` (call audio, docs/protocol.md), ``/ws/subscribe`` (overlays
and dashboards), ``/healthz`` (200 "ok"), ``/stats`` (JSON counters, no call
content).  Everything else is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from assist.audio.recognizer import RecognizerFactory
from assist.audio.vad import GateConfig
from assist.config import ServerConfig
from assist.connections import (
    CallConnection,
    ServerContext,
    SessionHook,
    SubscriberConnection,
    TypedConnection,
)
from assist.errors import CLOSE_GOING_AWAY
from assist.http import HttpRoutes
from assist.hub import Hub
from assist.pipeline import AssistPipeline
from assist.session import CallRegistry, RoleStats, SessionConfig

log = logging.getLogger("assist.server")

CALL_PATH = "/ws/call"
SUBSCRIBE_PATH = "/ws/subscribe"
HEALTH_PATH = "/healthz"
STATS_PATH = "/stats"


def session_config(config: ServerConfig) -> SessionConfig:
    """The per-call settings derived from the server configuration."""
    gate = GateConfig(
        enabled=config.gate,
        snr_db=config.gate_snr_db,
        min_level_dbfs=config.gate_min_level_dbfs,
        hangover_ms=config.gate_hangover_ms,
    )
    return SessionConfig(
        audio_queue_chunks=config.audio_queue_chunks,
        max_coalesce_seconds=config.max_coalesce_seconds,
        max_call_seconds=config.max_call_seconds,
        gate=gate,
    )


class AssistServer:
    """Streaming transcription server.  ``await start()``, then ``await stop()``.

    ``factory`` holds the one loaded model all calls share.  ``session_hooks``
    run for every new call session before it opens (the analysis pipeline and
    the store attach themselves there).  ``hub`` and ``executor`` may be passed
    in to share them; an executor created here is shut down by ``stop``.
    """

    def __init__(
        self,
        config: ServerConfig,
        factory: RecognizerFactory,
        *,
        hub: Hub | None = None,
        executor: Executor | None = None,
        session_hooks: Sequence[SessionHook] = (),
        pipeline: AssistPipeline | None = None,
        routes: HttpRoutes | None = None,
    ) -> None:
        self.config = config
        self.factory = factory
        self.pipeline = pipeline
        self.routes = routes or HttpRoutes(config.static_dir, pipeline.store if pipeline else None)
        hooks = (pipeline.attach, *session_hooks) if pipeline is not None else tuple(session_hooks)
        self.hub = hub or Hub(max_subscribers=config.max_subscribers, queue_size=config.subscriber_queue_size)
        self.registry = CallRegistry(config.max_calls)
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(config.threads, thread_name_prefix="decode")
        self._ctx = ServerContext(
            config=config,
            factory=factory,
            executor=self._executor,
            registry=self.registry,
            hub=self.hub,
            session_config=session_config(config),
            session_hooks=hooks,
            pipeline=pipeline,
        )
        self._server: Server | None = None
        self._connections: dict[CallConnection | SubscriberConnection, asyncio.Future[None]] = {}
        self._started_at = 0.0
        self._totals: dict[str, float] = {
            "calls": 0, "audio_s": 0.0, "decode_cpu_s": 0.0, "decoded_s": 0.0, "call_events_dropped": 0
        }
        self._reasons: dict[str, int] = {}

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on ``config.host``/``config.port`` (port 0: any free port, see ``port``)."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            create_connection=TypedConnection,
            max_size=self.config.websocket_max_size,
            max_queue=8,
            compression=None,  # audio does not compress; saves CPU per frame
            server_header=None,
        )
        self._started_at = time.time()
        log.info("listening on ws://%s:%d (model %s, %d decode threads)",
                 self.config.host, self.port, self.factory.name, self.config.threads)

    async def stop(self, grace: float = 15.0) -> None:
        """Stop accepting, finish every call (final transcripts are sent), close all sockets.

        Connections still busy after ``grace`` seconds are closed with 1001.
        """
        server = self._server
        if server is None:
            return
        server.close(close_connections=False)
        for conn in tuple(self._connections):
            conn.shutdown()
        if self._connections:
            _, pending = await asyncio.wait(set(self._connections.values()), timeout=grace)
            if pending:
                log.warning("%d connection(s) still busy after %.0f s; closing them", len(pending), grace)
        for ws in tuple(server.connections):
            with contextlib.suppress(ConnectionClosed):
                await ws.close(CLOSE_GOING_AWAY, "server shutting down")
        await server.wait_closed()
        self._server = None
        if self._own_executor:
            await asyncio.to_thread(self._executor.shutdown, wait=True)
        log.info("stopped")

    async def __aenter__(self) -> AssistServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """Base websocket URL, e.g. ``ws://127.0.0.1:8765``."""
        return f"ws://{self.config.host}:{self.port}"

    # ------------------------------------------------------------ routing

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path in (CALL_PATH, SUBSCRIBE_PATH):
            return None
        if path == HEALTH_PATH:
            return connection.respond(200, "ok\n")
        if path == STATS_PATH:
            body = json.dumps(self.stats(), ensure_ascii=False) + "\n"
            response = connection.respond(200, body)
            response.headers = Headers(
                [(k, v) for k, v in response.headers.raw_items() if k.lower() != "content-type"]
                + [("Content-Type", "application/json; charset=utf-8")]
            )
            return response
        routed = await self.routes.handle(connection, request)
        if routed is not None:
            return routed
        return connection.respond(404, "not found\n")

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, TypedConnection)
        path = urlsplit(ws.request.path if ws.request else "").path
        conn: CallConnection | SubscriberConnection
        conn = CallConnection(ws, self._ctx) if path == CALL_PATH else SubscriberConnection(ws, self._ctx)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._connections[conn] = done
        try:
            await conn.run()
        finally:
            del self._connections[conn]
            done.set_result(None)
            if isinstance(conn, CallConnection) and conn.session is not None:
                self._account(conn)

    def _account(self, conn: CallConnection) -> None:
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

    # ------------------------------------------------------------ figures

    def stats(self) -> dict[str, Any]:
        """Counters for monitoring and benchmarks (no call content)."""
        live: list[RoleStats] = [st for s in self.registry.sessions() for st in s.role_stats().values()]
        audio = self._totals["audio_s"] + sum(st.audio_in_s for st in live)
        cpu = self._totals["decode_cpu_s"] + sum(st.decode_cpu_s for st in live)
        decoded = self._totals["decoded_s"] + sum(st.audio_decoded_s for st in live)
        hub = self.hub.stats
        return {
            "model": self.factory.name,
            "uptime_s": round(time.time() - self._started_at, 1) if self._started_at else 0.0,
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
        }
