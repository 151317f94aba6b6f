"""The websocket server: the route table, authentication, connection bookkeeping, start and graceful stop.

Paths: ``/ws/call`` (call audio, docs/protocol.md), ``/ws/subscribe`` (overlays
and dashboards), ``/healthz`` (200 "ok", open), ``/metrics`` (Prometheus text)
and ``/stats`` (JSON counters, no call content), ``POST /api/ticket`` (a
browser ticket for a bearer token), the pages and ``/api/*`` of
``assist.web.routes``.  Every request is checked in ``_process_request`` in one
order (``assist.web.router``): single credential headers, an allowed Host, one
canonical path, a route, its method, then its guard.  Websocket upgrades are
authenticated before the upgrade (docs/security.md); ``/metrics``, ``/stats``
and ``/api/*`` need a supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from assist.audio.memory import MemoryReleaser
from assist.audio.pool import PoolConfig, pool_for
from assist.audio.recognizer import RecognizerFactory
from assist.audio.vad import GateConfig
from assist.live.decode_gate import DecodeGate
from assist.live.hub import Hub
from assist.live.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from assist.live.metrics import Metrics
from assist.live.pipeline import AssistPipeline
from assist.live.registry import CallRegistry
from assist.live.resumption import ResumeBook
from assist.live.roles import RoleStats
from assist.live.session import SessionConfig

if TYPE_CHECKING:  # the cluster parts need the 'cluster' extra (redis)
    from assist.live.floor import LiveFloor
    from assist.web.shared_auth import SharedAuth
from assist.protocol.errors import CLOSE_GOING_AWAY
from assist.settings import ServerConfig
from assist.training.report import report_for_call
from assist.web.access import Access, is_loopback
from assist.web.auth import AuthFailure, TokenStore
from assist.web.call import CallConnection
from assist.web.heartbeat import keep_alive
from assist.web.hosts import HostPolicy
from assist.web.http import SECURITY_HEADERS, error_response, json_response, text_response
from assist.web.paths import BadTarget, Target, canonical_target
from assist.web.quotas import Quotas
from assist.web.router import Guard, RouteTable
from assist.web.routes import PAGES, HttpRoutes
from assist.web.subscribe import SubscriberConnection
from assist.web.wsbase import AssistConnection, ServerContext, SessionHook

log = logging.getLogger("assist.web.server")

CALL_PATH = "/ws/call"
SUBSCRIBE_PATH = "/ws/subscribe"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"  # 503 while draining: the load balancer sends no new calls
STATS_PATH = "/stats"
METRICS_PATH = "/metrics"
TICKET_PATH = "/api/ticket"
SINGLE_HEADERS = ("Host", "Authorization", "Origin")  # more than one of these: 400
FORCE_CLOSE_SECONDS = 1.0  # after the grace period: time left for sockets to close before they are cut


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
    ``tokens`` is the token store (``assist tokens``): with ``config.auth``
    "auto" the server requires credentials when it holds tokens; without
    tokens it is open, which ``Access.resolve`` allows on loopback only
    (``ConfigError`` otherwise, unless ``config.insecure_no_auth``).
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
        tokens: TokenStore | None = None,
        metrics: Metrics | None = None,
        ticket_secret: bytes | None = None,
        floor: LiveFloor | None = None,
        shared_auth: SharedAuth | None = None,
    ) -> None:
        self.config = config
        self.factory = factory
        self.pipeline = pipeline
        self.access = Access.resolve(config, tokens, ticket_secret)
        self.shared_auth = shared_auth
        if shared_auth is not None:  # cluster: revocations made on any node count here at once
            self.access = dataclasses.replace(self.access, revoked_elsewhere=shared_auth.is_revoked)
        self.draining = False  # SIGTERM in a cluster: /readyz 503, no new calls, current calls go on
        self.metrics = metrics or Metrics()
        self.routes = routes or HttpRoutes(
            config.static_dir, pipeline.store if pipeline else None, report_builder=report_for_call, demo=config.demo
        )
        hooks = (pipeline.attach, *session_hooks) if pipeline is not None else tuple(session_hooks)
        self.hub = hub if hub is not None else Hub(max_subscribers=config.max_subscribers,
                                                   queue_size=config.subscriber_queue_size)  # an empty hub is falsy
        self.registry = CallRegistry(config.max_calls)
        self.gate = DecodeGate(config.threads, config.training_share)
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(config.threads, thread_name_prefix="decode")
        # warm recognizers reused across calls (issue 14); None for factories that cannot reset theirs
        self.pool = pool_for(factory, PoolConfig(config.pool_warm, config.pool_max, config.pool_idle_seconds))
        self._pool_task: asyncio.Task[None] | None = None
        self._ctx = ServerContext(
            config=config,
            factory=self.pool or factory,
            executor=self._executor,
            registry=self.registry,
            hub=self.hub,
            session_config=session_config(config),
            access=self.access,
            metrics=self.metrics,
            gate=self.gate,
            resume_book=ResumeBook(),
            quotas=Quotas(config.max_calls_per_principal, config.max_subscriptions_per_principal),
            session_hooks=hooks,
            pipeline=pipeline,
            floor=floor,
        )
        if floor is not None:  # cluster: this node's live calls go into Redis with every beat
            floor.states = lambda: [s.state() for s in self.registry.sessions()]
        self._server: Server | None = None
        self.hosts = HostPolicy.for_server(config.host, config.allowed_hosts)
        self.table = self._route_table()
        self._memory = MemoryReleaser()
        self._pool_warm_cpu = 0.0
        self._connections: dict[CallConnection | SubscriberConnection, asyncio.Future[None]] = {}
        self._started_at = 0.0
        self._totals: dict[str, float] = {
            "calls": 0, "audio_s": 0.0, "decode_cpu_s": 0.0, "decoded_s": 0.0, "call_events_dropped": 0
        }
        self._reasons: dict[str, int] = {}
        self._drops_reported: dict[str, int] = {}
        self.metrics.track(
            channels=lambda: float(sum(len(s.roles) for s in self.registry.sessions() if s.is_audio)),
            subscribers=lambda: float(len(self.hub)),
        )

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on ``config.host``/``config.port`` (port 0: any free port, see ``port``)."""
        if self._server is not None:
            raise RuntimeError("server already started")
        ssl_context = None
        if self.config.cert_path is not None:
            from assist.web.tls import server_context

            ssl_context = server_context(self.config.cert_path, self.config.key_path)
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            create_connection=AssistConnection,
            max_size=self.config.websocket_max_size,
            max_queue=8,
            compression=None,  # audio does not compress; saves CPU per frame
            server_header=None,
            ssl=ssl_context,
            ping_interval=None,  # heartbeats: assist.web.heartbeat, one task per connection
            close_timeout=self.config.close_timeout,
        )
        # pages are trusted by an explicit list of origins: the server's own names, then the configured ones
        own = self.hosts.own_origins(self.port, self.config.tls)
        self.access = self.access.with_origins(own)
        self._ctx = dataclasses.replace(self._ctx, access=self.access)
        self._started_at = time.time()
        if self.pool is not None:
            self._pool_task = asyncio.create_task(self._keep_pool(), name="recognizer pool")
        log.info("listening on %s (model %s, %d decode threads, auth %s, heartbeat %g s + %g s)",
                 self.url, self.factory.name, self.config.threads,
                 "on" if self.access.enabled else "OFF", self.config.heartbeat_interval,
                 self.config.heartbeat_timeout)
        warning = self.access.warning()
        if warning is not None:
            log.warning(warning)
        if not self.config.tls and self.access.enabled and not is_loopback(self.config.host):
            log.warning("no TLS (--cert/--key): tokens and tickets cross the network in clear text")

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting, finish every call (final transcripts are sent), close all sockets.

        Calls get ``grace`` seconds (``config.shutdown_grace``) to decode what they
        hold and send their finals; they end as ``interrupted``.  Calls still
        flushing then are ended at once for subscribers and the store, and every
        socket left is cut within about a second more.
        """
        server = self._server
        if server is None:
            return
        grace = self.config.shutdown_grace if grace is None else grace
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        server.close(close_connections=False)
        if self._pool_task is not None:
            self._pool_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pool_task
            self._pool_task = None
        for conn in tuple(self._connections):
            conn.shutdown()
        if self._connections:
            _, pending = await asyncio.wait(set(self._connections.values()), timeout=grace)
            if pending:
                log.warning("%d connection(s) still busy after %.1f s; cutting them", len(pending), grace)
                for session in self.registry.sessions():
                    session.abandon("interrupted")
        end = max(deadline, loop.time()) + FORCE_CLOSE_SECONDS
        sockets = tuple(server.connections)
        if sockets:
            closing = [asyncio.ensure_future(_close_quietly(ws)) for ws in sockets]
            await asyncio.wait(closing, timeout=max(0.1, end - loop.time() - FORCE_CLOSE_SECONDS / 2))
            for ws, task in zip(sockets, closing, strict=True):
                if not task.done():
                    task.cancel()
                    ws.transport.abort()
        try:
            async with asyncio.timeout(max(0.1, end - loop.time())):
                await server.wait_closed()
        except TimeoutError:
            log.warning("connection handlers still running at exit")
        self._server = None
        if self._own_executor:
            late = loop.time() > deadline
            await asyncio.to_thread(self._executor.shutdown, wait=not late, cancel_futures=late)
        log.info("stopped")

    async def drain(self, seconds: float) -> bool:
        """Stop taking calls (``/readyz`` answers 503) and give current calls ``seconds`` to end.

        True if every call ended; ``stop`` then interrupts the rest, whose clients resume elsewhere."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.registry) and loop.time() < deadline:  # noqa: ASYNC110 - calls end on their own
            await asyncio.sleep(0.1)
        return not len(self.registry)

    async def __aenter__(self) -> AssistServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _keep_pool(self) -> None:
        """Warm the pool's first recognizers (in a decode thread, while calls are already taken), then
        trim it now and then: recognizers idle too long go, and their memory back to the OS."""
        pool = self.pool
        assert pool is not None
        loop = asyncio.get_running_loop()
        try:
            cpu = await loop.run_in_executor(self._executor, pool.warm_up)
            self._pool_warm_cpu = cpu
            log.info("recognizer pool: %d warm recognizer(s) ready (%.1f s CPU)", pool.stats().idle, cpu)
        except Exception:
            log.exception("recognizer pool warm-up failed; calls build their recognizers")
        period = min(max(pool.config.idle_seconds / 4, 0.5), 30.0)
        while True:
            await asyncio.sleep(period)
            if await asyncio.to_thread(pool.trim) and self._memory.available:
                await asyncio.to_thread(self._memory.release)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """Base websocket URL, e.g. ``ws://127.0.0.1:8765`` (``wss://`` with TLS)."""
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{'wss' if self.config.tls else 'ws'}://{host}:{self.port}"

    # ------------------------------------------------------------ routing

    def _route_table(self) -> RouteTable:
        table = RouteTable()
        table.add(HEALTH_PATH, Guard.OPEN, self._health)
        table.add(READY_PATH, Guard.OPEN, self._ready)
        table.add(CALL_PATH, Guard.UPGRADE, _handshake)
        table.add(SUBSCRIBE_PATH, Guard.UPGRADE, _handshake)
        table.add(TICKET_PATH, Guard.OPEN, self._ticket, methods=("POST",))
        table.add(METRICS_PATH, Guard.SUPERVISOR, self._metrics)
        table.add(STATS_PATH, Guard.SUPERVISOR, self._stats)
        for page in PAGES:
            table.add(page, Guard.OPEN, self._page)
        table.add("/static/", Guard.OPEN, self._static)
        table.add("/api/calls", Guard.SUPERVISOR, self._api)
        table.add("/api/calls/", Guard.SUPERVISOR, self._api)
        return table

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Every request, in one order: headers, Host, canonical path, route, method, guard, handler."""
        for name in SINGLE_HEADERS:
            if len(request.headers.get_all(name)) > 1:
                return self._bad(connection, 400, "bad_request", f"more than one {name} header")
        if not self.hosts.allows(request.headers.get("Host")):
            return self._bad(connection, 421, "misdirected_request", "this server does not answer to that Host")
        target = canonical_target(request.path)
        if isinstance(target, BadTarget):
            return self._bad(connection, 400, "bad_path", target.reason)
        route = self.table.match(target.path)
        if route is None:
            return error_response(404, "not_found", "no such path")
        method = request.method
        if method not in route.methods:
            return error_response(405, "method_not_allowed", f"use {' or '.join(sorted(route.methods))}")
        if target.path == CALL_PATH and self.draining:
            return error_response(503, "draining", "this node is shutting down; retry")
        if route.guard is Guard.UPGRADE:
            result = self.access.authenticate_upgrade(request.path, request.headers)
            if isinstance(result, AuthFailure):
                return self._refuse(connection, result, target.path)
            assert isinstance(connection, AssistConnection)
            connection.principal = result
            connection.by_ticket = "Authorization" not in request.headers and not result.unrestricted
            if connection.by_ticket and self.shared_auth is not None:  # cluster: one socket per ticket on the floor
                ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
                if not await self.shared_auth.claim_ticket(ticket):
                    failure = AuthFailure(HTTPStatus.UNAUTHORIZED, "invalid, used or expired ticket")
                    return self._refuse(connection, failure, target.path)
        elif route.guard is Guard.SUPERVISOR:
            principal = self.access.authenticate_supervisor(request.path, request.headers)
            if isinstance(principal, AuthFailure):
                return self._refuse(connection, principal, target.path)
        return await route.handler(request, target)

    def _bad(self, connection: ServerConnection, status: int, code: str, message: str) -> Response:
        log.info("refused a request from %s: %d %s", _peer(connection), status, message, extra={"status": status})
        return error_response(status, code, message)

    async def _health(self, request: Request, target: Target) -> Response:
        return text_response(200, "ok\n")

    async def _ready(self, request: Request, target: Target) -> Response:
        """Readiness for the load balancer: 503 while this node drains, so it sends no new calls."""
        return text_response(503, "draining\n") if self.draining else text_response(200, "ready\n")

    async def _ticket(self, request: Request, target: Target) -> Response:
        status, body = self.access.ticket(request.method, request.headers)
        if status >= 400:
            self.metrics.auth_failed(status)
            log.info("ticket refused (%d)", status, extra={"status": int(status)})
        return json_response(status, body)

    async def _metrics(self, request: Request, target: Target) -> Response:
        return self._metrics_response()

    async def _stats(self, request: Request, target: Target) -> Response:
        return json_response(200, self.stats())

    async def _page(self, request: Request, target: Target) -> Response:
        return self.routes.page(target.path)

    async def _static(self, request: Request, target: Target) -> Response:
        return self.routes.static(target.path)

    async def _api(self, request: Request, target: Target) -> Response:
        return await self.routes.api(target.path, target.query)

    def _refuse(self, connection: ServerConnection, failure: AuthFailure, path: str) -> Response:
        """Refuse a request before any upgrade: 401 (no or bad credentials) or 403 (origin, role)."""
        status = int(failure.status)
        self.metrics.auth_failed(status)
        log.info("refused %s from %s: %d %s", path, _peer(connection), status, failure.reason,
                 extra={"status": status})
        code = {401: "unauthorized", 403: "forbidden"}.get(status, "bad_request")
        response = error_response(status, code, failure.reason)
        if failure.status == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Bearer realm="assist"'
        return response

    def _metrics_response(self) -> Response:
        self._sync_drops()
        body = self.metrics.render()
        headers = Headers([
            ("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
            *SECURITY_HEADERS,
        ])
        return Response(200, "OK", headers, body)

    def _sync_drops(self) -> None:
        """Copy the queues' drop counters (monotonic totals) into the metrics as increments."""
        call_drops = self._totals["call_events_dropped"] + sum(
            c.dropped_events for c in self._connections if isinstance(c, CallConnection)
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

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, AssistConnection)
        target = canonical_target(ws.request.path if ws.request else "")
        call = isinstance(target, Target) and target.path == CALL_PATH  # process_request let only two paths through
        conn: CallConnection | SubscriberConnection
        conn = CallConnection(ws, self._ctx) if call else SubscriberConnection(ws, self._ctx)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._connections[conn] = done
        heartbeat = asyncio.create_task(
            keep_alive(ws, self.config.heartbeat_interval, self.config.heartbeat_timeout), name="heartbeat"
        )
        try:
            await conn.run()
        finally:
            heartbeat.cancel()
            del self._connections[conn]
            done.set_result(None)
            if isinstance(conn, CallConnection) and conn.session is not None:
                self._account(conn)
                conn.session.close()  # drop the recognizers now, then hand their pages back to the OS
                conn.session = None
                if self._memory.available:
                    await asyncio.to_thread(self._memory.release)

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
            "auth": self.access.enabled,
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
            **self._pool_stats(),
        }

    def _pool_stats(self) -> dict[str, Any]:
        if self.pool is None:
            return {}
        pool = self.pool.stats()
        return {"pool_idle": pool.idle, "pool_in_use": pool.in_use, "pool_created": pool.created,
                "pool_reused": pool.reused, "pool_dropped": pool.dropped,
                "pool_warm_cpu_s": round(self._pool_warm_cpu, 3)}


def _peer(connection: ServerConnection) -> str:
    addr = connection.remote_address
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else str(addr)


async def _close_quietly(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.close(CLOSE_GOING_AWAY, "server shutting down")


async def _handshake(request: Request, target: Target) -> None:
    """A websocket path: authenticated by its guard, the handshake goes on."""
    return None
