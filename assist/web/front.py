"""The server's front door: every HTTP request checked in one order, the route table and its handlers.

Every request is checked in ``_process_request`` in one order (``assist.web.router``): single credential
headers, an allowed Host, one canonical path, a route, its method, then its guard.  Websocket upgrades are
authenticated before the upgrade (docs/security.md); ``/metrics``, ``/stats`` and ``/api/*`` need a
supervisor.  ``AssistServer`` (``assist.web.server``) takes this as its base.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from assist.live.metrics import Metrics
from assist.web.access import Access
from assist.web.auth import AuthFailure
from assist.web.hosts import HostPolicy
from assist.web.http import error_response, json_response, text_response
from assist.web.paths import BadTarget, Target, canonical_target
from assist.web.router import Guard, RouteTable
from assist.web.routes import PAGES, HttpRoutes
from assist.web.wsbase import AssistConnection, peer

if TYPE_CHECKING:  # the cluster parts need the 'cluster' extra (redis)
    from assist.web.shared_auth import SharedAuth

log = logging.getLogger("assist.web.server")

CALL_PATH = "/ws/call"
SUBSCRIBE_PATH = "/ws/subscribe"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"  # 503 while draining: the load balancer sends no new calls
STATS_PATH = "/stats"
METRICS_PATH = "/metrics"
TICKET_PATH = "/api/ticket"
SINGLE_HEADERS = ("Host", "Authorization", "Origin")  # more than one of these: 400


class HttpFront(ABC):
    """Request checking and the HTTP routes of a server; the server supplies what they read."""

    access: Access
    shared_auth: SharedAuth | None
    draining: bool
    metrics: Metrics
    routes: HttpRoutes
    hosts: HostPolicy
    table: RouteTable

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """``/stats``: counters for monitoring and benchmarks (no call content)."""

    @abstractmethod
    def _metrics_response(self) -> Response:
        """``/metrics``: the Prometheus text."""

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
        log.info("refused a request from %s: %d %s", peer(connection), status, message, extra={"status": status})
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
        log.info("refused %s from %s: %d %s", path, peer(connection), status, failure.reason,
                 extra={"status": status})
        code = {401: "unauthorized", 403: "forbidden"}.get(status, "bad_request")
        response = error_response(status, code, failure.reason)
        if failure.status == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Bearer realm="assist"'
        return response


async def _handshake(request: Request, target: Target) -> None:
    """A websocket path: authenticated by its guard, the handshake goes on."""
    return None
