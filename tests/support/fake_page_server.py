"""A tiny stand-in for the assist server, for driving the pages in a browser.

It serves ``assist/web/static/`` over HTTP exactly where the real server will (``/`` overlay,
``/supervisor``, ``/history``, ``/static/<file>``, ``/api/calls...``) and, on the same
port, the subscriber websocket ``/ws/subscribe``: after a valid ``subscribe`` it answers
``subscribed`` (calls + open alerts) and plays the scenario's script (filtered like the
real hub: one call, one agent, or all).  ``ack`` marks the alert and sends ``alert_ack``
to every ``all`` subscriber.  Client messages are parsed with the real
``assist.protocol.events.parse_client_message``, so malformed page messages fail the tests.

It runs its own event loop in a thread so synchronous Playwright tests can use it:
``start()``, ``stop()`` (the server goes away, connections are closed), ``restart()``
(same port), ``push(event)`` and ``close()``.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import threading
import time
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from assist.protocol.client_messages import parse_client_message
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import (
    Acknowledge,
    Alert,
    AlertAcknowledged,
    Error,
    Event,
    Subscribe,
    Subscribed,
)
from tests.support.scenario import Scenario

T = TypeVar("T")

PAGES = {"/": "overlay.html", "/supervisor": "supervisor.html", "/history": "history.html"}
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".json": "application/json"}


def _response(status: int, body: bytes, content_type: str) -> Response:
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    headers = Headers([
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("Connection", "close"),
    ])
    return Response(status, reason, headers, body)


def _json_response(status: int, obj: Any) -> Response:
    return _response(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json; charset=utf-8")


class FakeServer:
    """Fake assist server on 127.0.0.1 (port chosen by the OS on the first start)."""

    def __init__(self, client_dir: Path, scenario: Scenario, *, step_delay: float = 0.03) -> None:
        self.client_dir = client_dir.resolve()
        self.scenario = scenario
        self.step_delay = step_delay
        self.port = 0
        self.received: list[dict[str, Any]] = []  # every message pages sent, in order
        self.ws_paths: list[str] = []  # request path (with query) of every websocket
        self.http_paths: list[str] = []
        self.rejected_tickets: set[str] = set()  # websockets with these tickets get 'unauthorized'
        # When a set: websocket upgrades need one of these single-use tickets (else HTTP 401), and
        # each subscriber is sent a renewed one: {"type": "ticket", "ticket": ...}.
        self.valid_tickets: set[str] | None = None
        self._issued = 0
        self._alerts: dict[str, Alert] = {a.alert_id: a for a in scenario.alerts}
        self._subs: dict[ServerConnection, Subscribe] = {}
        self._agents: dict[str, str] = {}  # call_id -> agent_id of calls pushed by tests
        self._server: Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-server", daemon=True)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ control (test thread)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        if not self._thread.is_alive():
            self._thread.start()
        self._run(self._start())
        return self

    def stop(self) -> None:
        """The server goes away: stop listening and close every connection."""
        self._run(self._stop())

    def restart(self) -> None:
        self.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self._run(self._stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    def push(self, event: Event) -> None:
        """Send ``event`` now to every subscriber whose subscription matches it."""
        self._run(self._broadcast(event))

    def push_raw(self, message: dict[str, Any]) -> None:
        """Send any JSON object (e.g. an event type the pages do not know) to every subscriber."""
        self._run(self._send_all(json.dumps(message, ensure_ascii=False)))

    def messages(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.received if m.get("type") == kind]

    def alert(self, alert_id: str) -> Alert:
        return self._run(self._get_alert(alert_id))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # ------------------------------------------------------------ server (loop thread)

    async def _get_alert(self, alert_id: str) -> Alert:
        return self._alerts[alert_id]

    async def _start(self) -> None:
        if self._server is not None:
            return
        self._server = await serve(self._handle, "127.0.0.1", self.port, process_request=self._http)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is None:
            return
        self._server.close(close_connections=True)
        await self._server.wait_closed()
        self._server = None
        self._subs.clear()

    def _matches(self, sub: Subscribe, event: Event) -> bool:
        if sub.all:
            return True
        call_id = getattr(event, "call_id", None)
        if sub.call_id is not None:
            return call_id == sub.call_id
        agent = getattr(event, "agent_id", None) or (self._agent_of(call_id) if call_id else None)
        return agent == sub.agent_id

    def _agent_of(self, call_id: str) -> str | None:
        return self._agents.get(call_id) or self.scenario.agent_of(call_id)

    async def _broadcast(self, event: Event) -> None:
        agent = getattr(event, "agent_id", None)
        if isinstance(agent, str):
            self._agents[getattr(event, "call_id", "")] = agent  # like the hub's routing keys
        if isinstance(event, Alert):
            self._alerts[event.alert_id] = event
        text = event.to_json()
        for ws, sub in list(self._subs.items()):
            if self._matches(sub, event):
                try:
                    await ws.send(text)
                except ConnectionClosed:
                    self._subs.pop(ws, None)

    async def _send_all(self, text: str) -> None:
        for ws in list(self._subs):
            try:
                await ws.send(text)
            except ConnectionClosed:
                self._subs.pop(ws, None)

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.ws_paths.append(ws.request.path)
        url = urlsplit(ws.request.path)
        if url.path != "/ws/subscribe":
            await ws.close(1008, "unknown path")
            return
        ticket = parse_qs(url.query).get("ticket", [""])[0]
        if ticket in self.rejected_tickets:
            error = ProtocolError(ErrorCode.UNAUTHORIZED, "the ticket is not valid")
            await ws.send(Error.from_exc(error).to_json())
            await ws.close(error.close_code, "unauthorized")
            return
        player: asyncio.Task[None] | None = None
        try:
            async for raw in ws:
                try:
                    msg = parse_client_message(raw)
                    with self._lock:
                        self.received.append(json.loads(raw))
                    if isinstance(msg, Subscribe):
                        if ws in self._subs:
                            raise ProtocolError(ErrorCode.BAD_MESSAGE, "already subscribed", fatal=False)
                        self._subs[ws] = msg
                        player = asyncio.create_task(self._play(ws, msg))
                    elif isinstance(msg, Acknowledge):
                        await self._ack(msg)
                    else:
                        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{msg.type}' is not for subscribers", fatal=False)
                except ProtocolError as exc:
                    await ws.send(Error.from_exc(exc).to_json())
        except ConnectionClosed:
            pass
        finally:
            self._subs.pop(ws, None)
            if player is not None:
                player.cancel()

    async def _play(self, ws: ServerConnection, sub: Subscribe) -> None:
        calls = tuple(c for c in self.scenario.calls if self._matches(sub, c))
        alerts = tuple(a for a in self._alerts.values() if a.acknowledged_by is None and self._matches(sub, a))
        following = None
        if sub.agent_id is not None:
            following = next((c.call_id for c in calls if c.active), None)
        try:
            await ws.send(Subscribed(calls=calls, alerts=alerts, following=following).to_json())
            if self.valid_tickets is not None:
                self._issued += 1
                renewed = f"renewed-{self._issued}"
                self.valid_tickets.add(renewed)
                await ws.send(json.dumps({"type": "ticket", "ticket": renewed}))
            for event in self.scenario.script:
                if self._matches(sub, event):
                    if isinstance(event, Alert):
                        event = self._alerts.setdefault(event.alert_id, event)
                    await ws.send(event.to_json())
                    await asyncio.sleep(self.step_delay)
        except ConnectionClosed:
            pass

    async def _ack(self, msg: Acknowledge) -> None:
        alert = self._alerts.get(msg.alert_id)
        if alert is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no alert {msg.alert_id!r}", fatal=False)
        at = time.time()
        self._alerts[alert.alert_id] = replace(alert, acknowledged_by=msg.by, acknowledged_at=at, ack_note=msg.note)
        done = AlertAcknowledged(alert.alert_id, alert.call_id, msg.by, at, msg.note).to_json()
        for ws, sub in list(self._subs.items()):
            if sub.all:
                try:
                    await ws.send(done)
                except ConnectionClosed:
                    self._subs.pop(ws, None)

    # ------------------------------------------------------------ HTTP

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        self.http_paths.append(request.path)
        url = urlsplit(request.path)
        path = unquote(url.path)
        if path == "/ws/subscribe":
            if self.valid_tickets is not None:
                ticket = parse_qs(url.query).get("ticket", [""])[0]
                if ticket not in self.valid_tickets:
                    return _response(401, b"invalid, used or expired ticket", "text/plain; charset=utf-8")
                self.valid_tickets.discard(ticket)
            return None  # go on with the websocket handshake
        if path in PAGES:
            return self._file(PAGES[path])
        if path.startswith("/static/"):
            return self._file(path.removeprefix("/static/"))
        if path.startswith("/api/calls"):
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            return self._api(path.removeprefix("/api/calls").strip("/"), query)
        return _response(404, b"not found", "text/plain; charset=utf-8")

    def _file(self, name: str) -> Response:
        target = (self.client_dir / name).resolve()
        if not target.is_relative_to(self.client_dir) or not target.is_file():
            return _response(404, b"not found", "text/plain; charset=utf-8")
        kind = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return _response(200, target.read_bytes(), kind)

    def _api(self, rest: str, query: dict[str, str]) -> Response:
        history = self.scenario.history
        if not rest:
            rows = [detail["call"] for detail in history.values()]
            agent = query.get("agent", "")
            call = query.get("call", "")
            text = query.get("search", "")
            since = float(query["since"]) if query.get("since") else None
            rows = [
                r for r in rows
                if (not agent or r["agent_id"] == agent)
                and (not call or r["call_id"] == call)
                and (since is None or r["started_at"] >= since)
                and (not text or text in r["first_text"] or any(
                    text in u["text"] for u in history[r["call_id"]]["utterances"]))
            ]
            rows.sort(key=lambda r: r["started_at"], reverse=True)
            return _json_response(200, {"calls": rows})
        call_id, _, tail = rest.partition("/")
        if call_id not in history:
            return _json_response(404, {"error": "not_found", "message": f"no call {call_id}"})
        if tail == "report":
            report = self.scenario.reports.get(call_id)
            if report is None:
                return _json_response(404, {"error": "not_found", "message": "no report"})
            return _json_response(200, report)
        if tail:
            return _json_response(404, {"error": "not_found", "message": "unknown path"})
        return _json_response(200, history[call_id])

