"""The websocket server: the route table, authentication, connection bookkeeping, start and graceful stop.

Paths: ``/ws/call`` (call audio, docs/protocol.md), ``/ws/subscribe`` (overlays
and dashboards), ``/healthz`` (200 "ok", open), ``/metrics`` (Prometheus text)
and ``/stats`` (JSON counters, no call content), ``POST /api/ticket`` (a
browser ticket for a bearer token), the pages and ``/api/*`` of
``assist.web.routes``.  Requests are checked and routed by ``assist.web.front``
(the server's base class); the server's figures are ``assist.web.figures``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Response

from assist.audio.memory import MemoryReleaser
from assist.audio.pool import PoolConfig, pool_for
from assist.audio.recognizer import RecognizerFactory
from assist.audio.vad import GateConfig
from assist.live.decode_gate import DecodeGate
from assist.live.hub import Hub
from assist.live.metrics import Metrics
from assist.live.pipeline import AssistPipeline
from assist.live.registry import CallRegistry
from assist.live.resumption import ResumeBook
from assist.live.session import SessionConfig
from assist.live.tasks import cancel_and_wait

if TYPE_CHECKING:  # the cluster parts need the 'cluster' extra (redis)
    from assist.live.floor import LiveFloor
    from assist.web.shared_auth import SharedAuth
from assist.protocol.errors import CLOSE_GOING_AWAY
from assist.settings import ServerConfig
from assist.training.stored_report import report_for_call
from assist.web.access import Access, is_loopback
from assist.web.auth import TokenStore
from assist.web.call import CallConnection
from assist.web.figures import ServerFigures
from assist.web.front import CALL_PATH, HttpFront
from assist.web.heartbeat import keep_alive
from assist.web.hosts import HostPolicy
from assist.web.paths import Target, canonical_target
from assist.web.quotas import Quotas
from assist.web.routes import HttpRoutes
from assist.web.subscribe import SubscriberConnection
from assist.web.wsbase import AssistConnection, ServerContext, SessionHook, close_quietly

log = logging.getLogger("assist.web.server")

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


class AssistServer(HttpFront):
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
        self._memory = MemoryReleaser()
        self.pool = pool_for(factory, PoolConfig(config.pool_warm, config.pool_max, config.pool_idle_seconds,
                                                 config.pool_max_calls, config.pool_refresh),
                             release_memory=self._memory.release, warmup=config.pool_warmup_audio)
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
        self._connections: dict[CallConnection | SubscriberConnection, asyncio.Future[None]] = {}
        self.figures = ServerFigures(factory.name, self.metrics, self.hub, self.registry, self.pool, pipeline)
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
        self.figures.started_at = time.time()
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
        if self.pool is not None:
            self.pool.close()  # a warm-up or refresh under way stops within 100 ms of audio
        await cancel_and_wait(self._pool_task)
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
            closing = [asyncio.ensure_future(close_quietly(ws, CLOSE_GOING_AWAY, "server shutting down"))
                       for ws in sockets]
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
        maintain it now and then: recognizers idle too long go, grown ones are replaced by fresh ones on a
        quiet floor, and their memory goes back to the OS (``RecognizerPool.maintain``, in a thread)."""
        pool = self.pool
        assert pool is not None
        loop = asyncio.get_running_loop()
        try:
            cpu = await loop.run_in_executor(self._executor, pool.warm_up)
            self.figures.pool_warm_cpu = cpu
            log.info("recognizer pool: %d warm recognizer(s) ready (%.1f s CPU)", pool.stats().idle, cpu)
        except Exception:
            log.exception("recognizer pool warm-up failed; calls build their recognizers")
        period = min(max(pool.config.idle_seconds / 4, 0.5), 30.0)
        while True:
            await asyncio.sleep(period)
            try:
                await asyncio.to_thread(pool.maintain)
            except Exception:
                log.exception("recognizer pool upkeep failed")

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
                self.figures.account(conn)
                conn.session.close()  # drop the recognizers now, then hand their pages back to the OS
                conn.session = None
                if self._memory.available:
                    await asyncio.to_thread(self._memory.release)

    def stats(self) -> dict[str, Any]:
        """Counters for monitoring and benchmarks (no call content)."""
        return self.figures.stats(self.access.enabled)

    def _metrics_response(self) -> Response:
        return self.figures.metrics_response(self._connections)
