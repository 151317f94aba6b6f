"""What both websocket endpoints share: the connection class, the server context and the outbox.

``AssistConnection`` is the websockets ``ServerConnection`` the server creates
(``create_connection``, a public hook) with what ``process_request`` learned
about the request: the authenticated principal, whether a browser ticket was
used, and whether the heartbeat found the peer gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from assist.audio.recognizer import RecognizerFactory
from assist.live.decode_gate import DecodeGate
from assist.live.hub import EventQueue, Hub
from assist.live.metrics import Metrics
from assist.live.pipeline import AssistPipeline
from assist.live.registry import CallRegistry
from assist.live.resumption import ResumeBook
from assist.live.session import CallSession, SessionConfig
from assist.protocol.enums import CallMode
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import Error, Event
from assist.settings import ServerConfig
from assist.web.access import Access
from assist.web.auth import Principal
from assist.web.quotas import Quotas

if TYPE_CHECKING:
    from assist.live.floor import LiveFloor

log = logging.getLogger("assist.web.server")

SessionHook = Callable[[CallSession], None]
"""Called for every new session before it opens: attach listeners (analysis) and sinks (store)."""

DRAIN_TIMEOUT = 5.0  # seconds to flush a socket's queued events before closing it


class CallOwner(Protocol):
    """The socket streaming a live call (``assist.web.call.CallConnection``), as seen by a newer socket
    that claims the same call id: is it still there, and can it be made to let go."""

    @property
    def session(self) -> CallSession | None: ...

    async def alive(self) -> bool: ...

    async def interrupt(self) -> bool: ...


class AssistConnection(ServerConnection):
    """A server connection that carries its principal (set by ``process_request``).

    Text messages arrive as ``str`` and binary ones as ``bytes`` (``recv()`` with
    its default decoding): a text message that is not UTF-8 fails the connection
    with close code 1007, as RFC 6455 section 8.1 requires.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal: Principal | None = None  # set by the server's process_request (authentication)
        self.by_ticket = False  # authenticated by a ticket (a browser page): renew it while connected
        self.heartbeat_lost = False  # set by ``assist.web.heartbeat`` before it closes a silent peer

    async def recv_typed(self) -> tuple[bool, bytes]:
        """The next message as ``(is_text, payload)``; raises ``ConnectionClosed``."""
        data = await self.recv()
        if isinstance(data, str):
            return True, data.encode()
        return False, bytes(data)

    async def recv_first(self, seconds: float, code: ErrorCode, expected: str) -> tuple[bool, bytes]:
        """The socket's first message, as ``recv_typed``; ``ProtocolError(code)`` when no message
        came within ``seconds`` (``expected`` names the message the client owes)."""
        try:
            async with asyncio.timeout(seconds):
                return await self.recv_typed()
        except TimeoutError:
            raise ProtocolError(code, f"no '{expected}' message was received in time") from None


@dataclass(frozen=True, slots=True)
class ServerContext:
    """What every connection handler needs; the server builds one."""

    config: ServerConfig
    factory: RecognizerFactory
    executor: Executor
    registry: CallRegistry
    hub: Hub
    session_config: SessionConfig
    access: Access
    metrics: Metrics
    gate: DecodeGate
    resume_book: ResumeBook
    quotas: Quotas
    session_hooks: Sequence[SessionHook] = ()
    pipeline: AssistPipeline | None = None  # live assist, alerts and storage (None: transcripts only)
    owners: dict[str, CallOwner] = field(default_factory=dict)  # live call id -> its socket
    floor: LiveFloor | None = None  # cluster: the other nodes' live calls (assist.live.floor)

    def call_of(self, call_id: str | None) -> tuple[str | None, CallMode | None]:
        """(agent id, mode) of a live or recently ended call; (None, None) if unknown."""
        if call_id is None:
            return None, None
        session = self.registry.get(call_id)
        if session is not None:
            return session.agent_id, session.start.mode
        point = self.resume_book.get(call_id)
        return (point.agent_id, point.mode) if point is not None else (None, None)

    def error(self, event: Error) -> Error:
        """Count an error event by its code on its way to a client."""
        with contextlib.suppress(ValueError):
            self.metrics.error(ErrorCode(event.code))
        return event


def principal_of(ws: AssistConnection) -> Principal:
    """The principal the upgrade was authenticated as (the server sets it before the handler runs)."""
    if ws.principal is None:
        raise RuntimeError("connection without a principal: process_request did not authenticate it")
    return ws.principal


class Outbox:
    """A socket's bounded outgoing queue and the task that sends it (see ``EventQueue`` for drops)."""

    def __init__(self, ws: ServerConnection, queue: EventQueue) -> None:
        self.ws = ws
        self.queue = queue
        self.sent = 0
        self._task = asyncio.create_task(self._send_all(), name="outbox")

    def put(self, event: Event) -> None:
        self.queue.put(event)

    async def _send_all(self) -> None:
        while (event := await self.queue.get()) is not None:
            try:
                await self.ws.send(event.to_json())
            except ConnectionClosed:
                self.queue.close()
                return
            self.sent += 1

    async def drain(self, grace: float = DRAIN_TIMEOUT) -> bool:
        """Send what is queued (no more is accepted); False if that took longer than ``grace`` s."""
        self.queue.close()
        done, _ = await asyncio.wait({self._task}, timeout=grace)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return bool(done)


def peer(ws: ServerConnection) -> str:
    addr = ws.remote_address
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else str(addr)


async def close_quietly(ws: ServerConnection, code: int, reason: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.close(code, reason[:120])
