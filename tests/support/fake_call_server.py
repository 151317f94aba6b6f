"""A minimal stand-in for the call endpoint ``/ws/call``, for testing the headset client.

It checks ``start`` with the real ``assist.protocol.events.parse_client_message``, answers
``ready``, records every start message and the audio bytes of each connection,
and plays a script of utterances on the audio clock of each connection: the
audio time is ``resume_from`` plus the audio received, and an utterance is
"recognised" (partial, final, then its prompts) once that time passes
``end + ENDPOINT``.  Like a recogniser that re-decodes from the resume point
without a store, a restarted instance emits again the utterances whose
recognition falls after ``resume_from``, numbering utterance ids from 0 on
every connection: the client has to drop the replays itself.

``end`` flushes the rest of the script, answers ``ended`` and closes with 1000.
``crash()`` drops every connection without a closing handshake and stops
listening; ``start()`` listens again on the same port.  ``reject_next`` refuses
that many starts with a fatal ``error`` (code ``reject_code``), ``token``
requires ``Authorization: Bearer TOKEN`` (HTTP 401 otherwise), ``ignore_end``
never answers ``end``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from assist.protocol.client_messages import parse_client_message
from assist.protocol.errors import CLOSE_CODES, ErrorCode, ProtocolError
from assist.protocol.events import End, Start

ENDPOINT = 0.3  # seconds of audio after an utterance's end before its final is sent


@dataclass(frozen=True)
class Utterance:
    role: str
    start: float
    end: float
    text: str
    prompts: tuple[tuple[str, dict[str, Any]], ...] = ()  # (kind, data)

    @property
    def at(self) -> float:
        return self.end + ENDPOINT


@dataclass
class Connection:
    start: dict[str, Any] | None = None
    audio: bytearray = field(default_factory=bytearray)
    frames_sizes: list[int] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # text messages received
    got_end: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def parsed_start(self) -> Start:
        assert self.start is not None
        message = parse_client_message(json.dumps(self.start))
        assert isinstance(message, Start)
        return message

    @property
    def offset(self) -> float:
        return float(self.start.get("resume_from") or 0.0) if self.start else 0.0

    def audio_time(self) -> float:
        if self.start is None:
            return 0.0
        frame = 2 * int(self.start.get("channels", 1))
        return self.offset + len(self.audio) // frame / int(self.start["sample_rate"])


class FakeCallServer:
    def __init__(
        self,
        script: Sequence[Utterance] = (),
        *,
        token: str | None = None,
        reject_next: int = 0,
        reject_code: ErrorCode = ErrorCode.CALL_IN_PROGRESS,
        ignore_end: bool = False,
    ) -> None:
        self.script = sorted(script, key=lambda u: u.at)
        self.token = token
        self.reject_next = reject_next
        self.reject_code = reject_code
        self.ignore_end = ignore_end
        self.connections: list[Connection] = []
        self.port = 0
        self._server: Server | None = None
        self._sockets: set[ServerConnection] = set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/call"

    @property
    def current(self) -> Connection | None:
        return self.connections[-1] if self.connections else None

    @property
    def starts(self) -> list[dict[str, Any]]:
        return [c.start for c in self.connections if c.start is not None]

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", self.port, process_request=self._check,
                                   compression=None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def crash(self) -> None:
        """The server process dies: connections are cut (no close frame) and nobody listens."""
        assert self._server is not None
        self._server.close(close_connections=False)
        for ws in tuple(self._sockets):
            ws.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Poll ``predicate`` until it holds; TimeoutError after ``within`` seconds."""
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110 - the state changes in other tasks, no event to wait on
                await asyncio.sleep(0.01)

    # ------------------------------------------------------------ protocol

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            return connection.respond(401, "credentials required\n")
        if not request.path.startswith("/ws/call"):
            return connection.respond(404, "not found\n")
        return None

    async def _send(self, ws: ServerConnection, conn: Connection, event: dict[str, Any]) -> None:
        conn.sent.append(event)
        await ws.send(json.dumps(event, ensure_ascii=False))

    async def _handle(self, ws: ServerConnection) -> None:
        self._sockets.add(ws)
        conn = Connection()
        self.connections.append(conn)
        try:
            await self._call(ws, conn)
        except ConnectionClosed:
            pass
        finally:
            self._sockets.discard(ws)

    async def _call(self, ws: ServerConnection, conn: Connection) -> None:
        first = await ws.recv()
        assert isinstance(first, str), "the first message must be text"
        conn.start = json.loads(first)
        try:
            start = parse_client_message(first)
            if not isinstance(start, Start):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "first message must be start")
        except ProtocolError as exc:
            await self._reject(ws, conn, exc.code, exc.message)
            return
        if self.reject_next > 0:
            self.reject_next -= 1
            await self._reject(ws, conn, self.reject_code, f"call {start.call_id!r} is refused by the script")
            return
        await self._send(ws, conn, {"type": "ready", "call_id": start.call_id, "model": "fake",
                                    "model_sample_rate": 16000, "roles": list(start.roles),
                                    "resumed": start.resume_from is not None})
        emitted: set[int] = set()
        counters: dict[str, int] = {}
        async for message in ws:
            if isinstance(message, bytes):
                conn.audio += message
                conn.frames_sizes.append(len(message))
                await self._play(ws, conn, start, emitted, counters, conn.audio_time())
                continue
            parsed = json.loads(message)
            conn.messages.append(parsed)
            if isinstance(parse_client_message(message), End):
                conn.got_end = True
                if self.ignore_end:
                    continue
                await self._play(ws, conn, start, emitted, counters, conn.audio_time() + 10.0)
                counts = {role: counters.get(role, 0) for role in start.roles}
                summary = {"duration": conn.audio_time() - conn.offset, "utterances": counts,
                           "reason": "completed", "audio_bytes": len(conn.audio)}
                await self._send(ws, conn, {"type": "ended", "call_id": start.call_id, "summary": summary})
                await ws.close(1000, "call ended")
                return

    async def _reject(self, ws: ServerConnection, conn: Connection, code: ErrorCode, message: str) -> None:
        await self._send(ws, conn, {"type": "error", "code": code.value, "message": message, "fatal": True,
                                    "call_id": conn.start.get("call_id") if conn.start else None})
        await ws.close(CLOSE_CODES[code], code.value)

    async def _play(
        self, ws: ServerConnection, conn: Connection, start: Start, emitted: set[int], counters: dict[str, int],
        now: float,
    ) -> None:
        for index, utt in enumerate(self.script):
            if index in emitted or utt.at <= conn.offset or utt.at > now or utt.role not in start.roles:
                continue
            emitted.add(index)
            n = counters.get(utt.role, 0)
            counters[utt.role] = n + 1
            uid = f"{utt.role}-{n}"
            base = {"type": "transcript", "call_id": start.call_id, "role": utt.role, "utterance_id": uid}
            words = utt.text.split()
            await self._send(ws, conn, {**base, "final": False, "text": " ".join(words[:1]),
                                        "start": utt.start, "end": (utt.start + utt.end) / 2})
            await self._send(ws, conn, {**base, "final": True, "text": utt.text, "start": utt.start,
                                        "end": utt.end, "words": []})
            for kind, data in utt.prompts:
                key = data.get("number") or data.get("rule") or "0"
                await self._send(ws, conn, {
                    "type": "prompt", "prompt_id": f"{start.call_id}:{uid}:{kind}:{key}",
                    "call_id": start.call_id, "role": utt.role, "utterance_id": uid, "kind": kind,
                    "action": "show", "audio_time": utt.end, "span": None, "data": data,
                })


@contextlib.asynccontextmanager
async def running(server: FakeCallServer) -> Any:
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
