"""The two websocket endpoints: ``/ws/call`` (audio in, transcripts out) and ``/ws/subscribe``.

Transport only: protocol checks, bounded outgoing queues and close codes.  The
call pipeline itself is ``assist.session.CallSession``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from assist.audio.recognizer import RecognizerFactory
from assist.config import ServerConfig
from assist.errors import CLOSE_GOING_AWAY, CLOSE_NORMAL, ErrorCode, ProtocolError
from assist.events import (
    Acknowledge,
    Alert,
    CallEnded,
    CallStarted,
    End,
    Ended,
    Error,
    Event,
    Start,
    Subscribe,
    Subscribed,
    TranscriptLine,
    parse_client_message,
)
from assist.hub import EventQueue, Hub, Subscriber, matcher_for
from assist.pipeline import AssistPipeline
from assist.session import CallRegistry, CallSession, SessionConfig

log = logging.getLogger("assist.server")

SessionHook = Callable[[CallSession], None]
"""Called for every new session before it opens: attach listeners (analysis) and sinks (store)."""

DRAIN_TIMEOUT = 5.0  # seconds to flush a socket's queued events before closing it


class TypedConnection(ServerConnection):
    """A ``ServerConnection`` that can receive text messages undecoded and still tell text from binary.

    websockets decodes text messages itself and, on invalid UTF-8, closes the
    connection with 1007 before the application can answer.  Remembering the
    opcode of each message's first frame lets the server receive everything as
    bytes and report bad UTF-8 with its own ``bad_json`` error event.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._message_is_text: deque[bool] = deque()

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._message_is_text.append(event.opcode is Opcode.TEXT)
        super().process_event(event)

    async def recv_typed(self) -> tuple[bool, bytes]:
        """The next message as ``(is_text, payload)``; raises ``ConnectionClosed``."""
        data = await self.recv(decode=False)
        assert isinstance(data, bytes)
        return self._message_is_text.popleft(), data


@dataclass(frozen=True, slots=True)
class ServerContext:
    """What every connection handler needs; the server builds one."""

    config: ServerConfig
    factory: RecognizerFactory
    executor: Executor
    registry: CallRegistry
    hub: Hub
    session_config: SessionConfig
    session_hooks: Sequence[SessionHook] = ()
    pipeline: AssistPipeline | None = None  # live assist, alerts and storage (None: transcripts only)


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


def _peer(ws: ServerConnection) -> str:
    addr = ws.remote_address
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else str(addr)


async def _close(ws: ServerConnection, code: int, reason: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.close(code, reason[:120])


class Replay:
    """The transcript source of one call: timed ``line`` messages replayed into the session."""

    def __init__(self, session: CallSession) -> None:
        from assist.transcript_source import TranscriptReplayer

        self._replayer = TranscriptReplayer(session.call_id, session.push_transcript, speed=session.start.speed)
        self._task = asyncio.create_task(self._replayer.run(), name=f"replay {session.call_id}")

    def add(self, line: TranscriptLine) -> None:
        self._replayer.add(line)

    async def finish(self, *, wait: bool) -> None:
        """``wait``: let the replay reach its end on its clock; else release everything at once."""
        if wait:
            self._replayer.close()
            await asyncio.wait({self._task})
        else:
            await self._replayer.flush()
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class CallConnection:
    """One ``/ws/call`` socket: ``start``, audio frames, ``end`` (docs/protocol.md)."""

    def __init__(self, ws: TypedConnection, ctx: ServerContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.session: CallSession | None = None
        self._outbox = Outbox(ws, EventQueue(ctx.config.send_queue_size))
        self._reader: asyncio.Task[tuple[str, ProtocolError | None]] | None = None
        self._shutdown = False

    @property
    def dropped_events(self) -> int:
        """Events this socket's client did not get because it read too slowly."""
        return self._outbox.queue.dropped

    def shutdown(self) -> None:
        """Server is stopping: stop reading; a started call is finished with reason "shutdown"."""
        self._shutdown = True
        if self._reader is not None:
            self._reader.cancel()

    async def run(self) -> None:
        try:
            start = await self._read_start()
        except ProtocolError as exc:
            await self._reject(exc)
            return
        except ConnectionClosed:
            await self._outbox.drain(0)
            return
        session = CallSession(start, self.ctx.factory, self.ctx.executor, self.ctx.session_config)
        try:
            self.ctx.registry.register(session)
        except ProtocolError as exc:
            await self._reject(exc, call_id=start.call_id)
            return
        self.session = session
        try:
            await self._run_call(session)
        finally:
            self.ctx.registry.unregister(session)

    async def _run_call(self, session: CallSession) -> None:
        call_id = session.call_id
        hub = self.ctx.hub
        session.add_sink(lambda ev: hub.publish(ev, call_id=call_id, agent_id=session.agent_id))
        for hook in self.ctx.session_hooks:
            hook(session)
        session.add_sink(self._to_client)
        try:
            ready = await session.open()
        except ProtocolError as exc:
            await session.finish("error")
            await self._reject(exc, call_id)
            return
        except Exception:
            log.exception("call %s: could not start the recognizers", call_id)
            await session.finish("error")
            await self._reject(ProtocolError(ErrorCode.INTERNAL, "the recognizer could not be started"), call_id)
            return
        s = session.start
        log.info("call %s started: agent %s, %s Hz %s x%d %s, from %s", call_id, s.agent_id,
                 s.sample_rate, s.encoding, s.channels, "/".join(s.roles), _peer(self.ws))
        self._outbox.put(ready)
        replay = None if session.is_audio else Replay(session)
        self._reader = asyncio.create_task(self._read(session, replay), name=f"read {call_id}")
        if self._shutdown:  # the server began stopping while the recognizers were being created
            self._reader.cancel()
        await asyncio.wait({self._reader})
        if self._reader.cancelled():
            reason, error = ("shutdown" if self._shutdown else "interrupted"), None
        elif (failure := self._reader.exception()) is not None:
            log.error("call %s: reader failed", call_id, exc_info=failure)
            reason, error = "error", ProtocolError(ErrorCode.INTERNAL, "internal server error")
        else:
            reason, error = self._reader.result()
        if error is not None:
            self._outbox.put(Error.from_exc(error, call_id))
        if replay is not None:
            await replay.finish(wait=reason == "completed")
        summary = await session.finish(reason)
        if self.ctx.pipeline is not None:
            self.ctx.pipeline.detach(call_id)
        self.ctx.registry.unregister(session)  # the call id is free again once its transcript is complete
        dropped = self._outbox.queue.dropped_partials
        stats = session.role_stats()
        log.info("call %s ended (%s): %.1f s audio, finals %s, rtf %s%s", call_id, reason, summary.duration,
                 summary.utterances, {r: round(st.rtf, 3) for r, st in stats.items()},
                 f", {dropped} partial(s) not delivered" if dropped else "")
        session.remove_sink(self._to_client)
        if reason == "client_gone":
            await self._outbox.drain(0)
            return
        self._outbox.put(Ended(call_id, summary))
        await self._outbox.drain()
        if error is not None:
            await _close(self.ws, error.close_code, error.code.value)
        elif reason == "shutdown":
            await _close(self.ws, CLOSE_GOING_AWAY, "server shutting down")
        else:
            await _close(self.ws, CLOSE_NORMAL, "call ended")

    def _to_client(self, event: Event) -> None:
        if not isinstance(event, CallStarted | CallEnded):  # those are for subscribers
            self._outbox.put(event)

    async def _reject(self, exc: ProtocolError, call_id: str | None = None) -> None:
        log.info("call socket %s refused: %s", _peer(self.ws), exc)
        self._outbox.put(Error.from_exc(exc, call_id))
        await self._outbox.drain()
        await _close(self.ws, exc.close_code, exc.code.value)

    def _check_size(self, data: bytes) -> None:
        limit = self.ctx.config.max_frame_bytes
        if len(data) > limit:
            raise ProtocolError(
                ErrorCode.FRAME_TOO_LARGE, f"a message of {len(data)} bytes is over the limit of {limit} bytes"
            )

    async def _read_start(self) -> Start:
        try:
            async with asyncio.timeout(self.ctx.config.start_timeout_seconds):
                is_text, data = await self.ws.recv_typed()
        except TimeoutError:
            raise ProtocolError(ErrorCode.NOT_STARTED, "no 'start' message was received in time") from None
        self._check_size(data)
        if not is_text:
            raise ProtocolError(ErrorCode.NOT_STARTED, "audio before 'start': send a 'start' message first")
        message = parse_client_message(data)
        if isinstance(message, Start):
            return message
        if isinstance(message, End):
            raise ProtocolError(ErrorCode.NOT_STARTED, "'end' before 'start'")
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"the first message on /ws/call must be 'start', not {message.type!r}"
        )

    async def _read(self, session: CallSession, replay: Replay | None) -> tuple[str, ProtocolError | None]:
        """Read until ``end``, a fatal error or the client going away: (summary reason, fatal error)."""
        while True:
            try:
                is_text, data = await self.ws.recv_typed()
            except ConnectionClosed:
                return "client_gone", None
            try:
                self._check_size(data)
                if not is_text:
                    await session.feed_audio(data)
                    continue
            except ProtocolError as exc:
                if exc.fatal:
                    return "error", exc
                self._non_fatal(session, exc.code, exc.message)
                continue
            try:
                message = parse_client_message(data)
            except ProtocolError as exc:  # a bad control message never ends a started call
                self._non_fatal(session, exc.code, exc.message)
                continue
            if isinstance(message, End):
                return "completed", None
            if isinstance(message, TranscriptLine):
                if replay is None:
                    self._non_fatal(session, ErrorCode.BAD_MESSAGE, "'line' is only for calls with source 'transcript'")
                elif message.role not in session.roles:
                    self._non_fatal(session, ErrorCode.BAD_MESSAGE, f"this call has no role {message.role!r}")
                else:
                    replay.add(message)
            elif isinstance(message, Start):
                self._non_fatal(session, ErrorCode.ALREADY_STARTED, "this socket already started its call")
            else:
                self._non_fatal(session, ErrorCode.BAD_MESSAGE, f"{message.type!r} is not a call message")

    def _non_fatal(self, session: CallSession, code: ErrorCode, message: str) -> None:
        log.info("call %s: ignored bad message (%s)", session.call_id, code.value)
        self._outbox.put(Error(code=code.value, message=message, fatal=False, call_id=session.call_id))


class SubscriberConnection:
    """One ``/ws/subscribe`` socket: a ``subscribe`` message, then the matching events."""

    def __init__(self, ws: TypedConnection, ctx: ServerContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.subscriber: Subscriber | None = None

    def shutdown(self) -> None:
        if self.subscriber is not None:
            self.subscriber.close()

    async def run(self) -> None:
        try:
            sub = await self._read_subscribe()
            self.subscriber = self.ctx.hub.subscribe(matcher_for(sub), queue_size=self.ctx.config.subscriber_queue_size)
        except ProtocolError as exc:
            log.info("subscriber %s refused: %s", _peer(self.ws), exc)
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(Error.from_exc(exc).to_json())
            await _close(self.ws, exc.close_code, exc.code.value)
            return
        except ConnectionClosed:
            return
        subscriber = self.subscriber
        reader = asyncio.create_task(self._read_rest(subscriber), name=f"read {subscriber.name}")
        try:
            await self.ws.send(self._snapshot(sub).to_json())
            while (event := await subscriber.get()) is not None:
                await self.ws.send(event.to_json())
        except ConnectionClosed:
            pass
        finally:
            subscriber.close()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await _close(self.ws, CLOSE_GOING_AWAY, "server shutting down")

    def _snapshot(self, sub: Subscribe) -> Subscribed:
        registry = self.ctx.registry
        if sub.call_id is not None:
            sessions = [s for s in (registry.get(sub.call_id),) if s is not None]
        elif sub.agent_id is not None:
            sessions = [s for s in registry.sessions() if s.agent_id == sub.agent_id]
        else:
            sessions = registry.sessions()
        following = None
        if sub.agent_id is not None and (current := registry.for_agent(sub.agent_id)) is not None:
            following = current.call_id
        alerts: tuple[Alert, ...] = ()
        if self.ctx.pipeline is not None:
            book = self.ctx.pipeline.alerts
            alerts = book.recent() if sub.all else book.recent([s.call_id for s in sessions])
        return Subscribed(calls=tuple(s.state() for s in sessions), alerts=alerts, following=following)

    async def _read_subscribe(self) -> Subscribe:
        try:
            async with asyncio.timeout(self.ctx.config.start_timeout_seconds):
                is_text, data = await self.ws.recv_typed()
        except TimeoutError:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "no 'subscribe' message was received in time") from None
        if not is_text:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "the first message on /ws/subscribe must be 'subscribe'")
        if len(data) > self.ctx.config.max_frame_bytes:
            raise ProtocolError(ErrorCode.FRAME_TOO_LARGE, "message too large")
        message = parse_client_message(data)
        if not isinstance(message, Subscribe):
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, f"the first message on /ws/subscribe must be 'subscribe', not {message.type!r}"
            )
        return message

    async def _acknowledge(self, message: Acknowledge) -> Error | None:
        pipeline = self.ctx.pipeline
        ack = await pipeline.acknowledge(message.alert_id, message.by, self.ctx.hub) if pipeline else None
        if ack is None:
            return Error(ErrorCode.NOT_FOUND.value, f"no alert {message.alert_id!r} to acknowledge")
        return None

    async def _read_rest(self, subscriber: Subscriber) -> None:
        """Later messages: every problem is answered with a non-fatal error; the stream goes on."""
        while True:
            try:
                is_text, data = await self.ws.recv_typed()
            except ConnectionClosed:
                subscriber.close()
                return
            error: Error | None
            if not is_text or len(data) > self.ctx.config.max_frame_bytes:
                error = Error(ErrorCode.BAD_MESSAGE.value, "subscribers send only small text messages")
            else:
                try:
                    message = parse_client_message(data)
                except ProtocolError as exc:
                    error = Error(exc.code.value, exc.message)
                else:
                    if isinstance(message, Acknowledge):
                        error = await self._acknowledge(message)
                    elif isinstance(message, Subscribe):
                        error = Error(ErrorCode.BAD_MESSAGE.value, "already subscribed: open a new socket instead")
                    else:
                        error = Error(ErrorCode.BAD_MESSAGE.value, f"{message.type!r} is not a subscriber message")
            if error is not None:
                subscriber.queue.put(error)
