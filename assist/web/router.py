"""The HTTP route table: which handler answers a canonical path, for which methods, behind which guard.

Every request passes the same steps in ``AssistServer`` before its handler runs:
one ``Host`` and at most one ``Authorization`` and ``Origin`` header, a Host
the server answers to (``assist.web.hosts``), one canonical path
(``assist.web.paths``), a route for that path, an allowed method, then the
route's guard (no credentials, a supervisor, or a websocket principal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from websockets.http11 import Request, Response

from assist.web.paths import Target


class Guard(StrEnum):
    OPEN = "open"  # anyone (pages, /healthz, the ticket endpoint that checks its own bearer token)
    SUPERVISOR = "supervisor"  # a supervisor's bearer token or ticket (not consumed)
    UPGRADE = "upgrade"  # a websocket: any valid principal (a ticket is consumed); the handshake goes on


Handler = Callable[[Request, Target], Awaitable[Response | None]]


@dataclass(frozen=True, slots=True)
class Route:
    guard: Guard
    methods: frozenset[str]
    handler: Handler


class RouteTable:
    """Exact paths first, then the longest matching prefix (a prefix ends with ``/``)."""

    def __init__(self) -> None:
        self._exact: dict[str, Route] = {}
        self._prefixes: list[tuple[str, Route]] = []

    def add(self, path: str, guard: Guard, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> None:
        route = Route(guard, frozenset(methods), handler)
        if path.endswith("/") and path != "/":
            self._prefixes.append((path, route))
            self._prefixes.sort(key=lambda item: -len(item[0]))
        else:
            self._exact[path] = route

    def match(self, path: str) -> Route | None:
        route = self._exact.get(path)
        if route is not None:
            return route
        for prefix, candidate in self._prefixes:
            if path.startswith(prefix) and len(path) > len(prefix):
                return candidate
        return None

    def paths(self) -> list[str]:
        """Every exact path and prefix (tests try each with encoded variants)."""
        return [*self._exact, *(p for p, _ in self._prefixes)]
