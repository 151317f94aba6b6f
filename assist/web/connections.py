"""The two websocket endpoints: ``/ws/call`` (audio in, transcripts out) and ``/ws/subscribe``.

Transport only: protocol checks, who may do what (the principal authenticated
before the upgrade, docs/security.md), the live audio pace, resuming calls,
bounded outgoing queues and close codes.  The call pipeline itself is
``assist.live.session.CallSession``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame, Opcode

from assist.audio.recognizer import RecognizerFactory
from assist.live.decode_gate import DecodeGate
from assist.live.hub import Envelope, EventQueue, Hub, Matcher, Subscriber, matcher_for
from assist.live.metrics import Metrics
from assist.live.pipeline import AssistPipeline
from assist.live.resumption import ResumeBook, ResumePoint, point_from_store
from assist.live.session import CallRegistry, CallSession, SessionConfig
from assist.protocol.errors import CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY, ErrorCode, ProtocolError
from assist.protocol.events import (
    Acknowledge,
    Alert,
    AlertAcknowledged,
    CallEnded,
    CallStarted,
    End,
    Ended,
    Error,
    Event,
    Start,
    Subscribe,
    Subscribed,
    Ticket,
    TranscriptLine,
    parse_client_message,
)
from assist.settings import ServerConfig
from assist.web.access import Access
from assist.web.auth import Principal, Role, can_acknowledge, can_see, can_stream, can_subscribe, can_train
from assist.web.limits import AudioRateLimiter

log = logging.getLogger("assist.web.server")

SessionHook = Callable[[CallSession], None]
"""Called for every new session before it opens: attach listeners (analysis) and sinks (store)."""

DRAIN_TIMEOUT = 5.0  # seconds to flush a socket's queued events before closing it
PROBE_TIMEOUT = 2.0  # a resume waits this long for the call's old socket to answer a ping
TAKEOVER_TIMEOUT = 10.0  # ... and this long for the old session to finish once it is declared dead
_SAMPLE_BYTES = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}


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
        self.principal: Principal | None = None  # set by the server's process_request (authentication)
        self.by_ticket = False  # authenticated by a ticket (a browser page): renew it while connected

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
    access: Access
    metrics: Metrics
    gate: DecodeGate
    resume_book: ResumeBook
    session_hooks: Sequence[SessionHook] = ()
    pipeline: AssistPipeline | None = None  # live assist, alerts and storage (None: transcripts only)
    owners: dict[str, CallConnection] = field(default_factory=dict)  # live call id -> its socket

    def call_of(self, call_id: str | None) -> tuple[str | None, str | None]:
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


def principal_of(ws: TypedConnection) -> Principal:
    """The principal the upgrade was authenticated as (the server sets it before the handler runs)."""
    if ws.principal is None:
        raise RuntimeError("connection without a principal: process_request did not authenticate it")
    return ws.principal


def heartbeat_lost(exc: ConnectionClosed) -> bool:
    """Did the server close this connection because the peer stopped answering pings?"""
    sent = exc.sent
    lost = sent is not None and sent.code == CloseCode.INTERNAL_ERROR and "keepalive" in sent.reason
    return exc.rcvd is None and lost


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
        from assist.live.transcript_source import TranscriptReplayer

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
        self.principal = principal_of(ws)
        self.session: CallSession | None = None
        self._outbox = Outbox(ws, EventQueue(ctx.config.send_queue_size))
        self._reader: asyncio.Task[tuple[str, ProtocolError | None]] | None = None
        self._shutdown = False
        self._interrupted = False  # declared dead by a client resuming the call on a new socket
        self._released: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def dropped_events(self) -> int:
        """Events this socket's client did not get because it read too slowly."""
        return self._outbox.queue.dropped

    def shutdown(self) -> None:
        """Server is stopping: stop reading; a started call is finished with reason "interrupted"."""
        self._shutdown = True
        if self._reader is not None:
            self._reader.cancel()

    async def alive(self) -> bool:
        """Does the peer still answer a ping within ``PROBE_TIMEOUT`` seconds?"""
        if self._interrupted or self._shutdown or (self._reader is not None and self._reader.done()):
            return False  # gone, or its call is finishing
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):  # sending the ping may wait too (a full buffer)
                pong = await self.ws.ping()
                await pong
        except (ConnectionClosed, TimeoutError, RuntimeError):
            return False
        return True

    async def interrupt(self) -> bool:
        """The peer is gone (its client resumes the call on a new socket): end the call as
        interrupted, with every final decoded, and wait until the call id is free again."""
        self._interrupted = True
        if self._reader is not None:
            self._reader.cancel()
        self.ws.transport.abort()
        done, _ = await asyncio.wait({self._released}, timeout=TAKEOVER_TIMEOUT)
        return bool(done)

    async def run(self) -> None:
        call_id: str | None = None
        try:
            start = await self._read_start()
            call_id = start.call_id
            self._authorize(start)
            resume = await self._claim(start)
        except ProtocolError as exc:
            await self._reject(exc, call_id)
            self._released.set_result(None)
            return
        except ConnectionClosed:
            await self._outbox.drain(0)
            self._released.set_result(None)
            return
        ctx = self.ctx
        session = CallSession(
            start, ctx.factory, ctx.executor, ctx.session_config, gate=ctx.gate, metrics=ctx.metrics, resume=resume
        )
        try:
            ctx.registry.register(session)
        except ProtocolError as exc:
            await self._reject(exc, call_id=start.call_id)
            self._released.set_result(None)
            return
        ctx.owners[session.call_id] = self
        self.session = session
        try:
            await self._run_call(session)
        finally:
            self._release(session)

    def _release(self, session: CallSession) -> None:
        """The call id is free again (its transcript complete): remember where the call stopped."""
        ctx = self.ctx
        if ctx.registry.get(session.call_id) is session:
            if session.summary is not None and session.summary.reason != "completed" and session.is_audio:
                ctx.resume_book.remember(session.call_id, session.resume_point())
            ctx.registry.unregister(session)
        if ctx.owners.get(session.call_id) is self:
            del ctx.owners[session.call_id]
        if not self._released.done():
            self._released.set_result(None)

    def _authorize(self, start: Start) -> None:
        """May this client stream this call, at this speed?"""
        principal = self.principal
        if not can_stream(principal, start.agent_id, start.mode):
            if principal.role is Role.AGENT:
                why = f"an agent token may stream only its own live calls (agent {principal.subject})"
            elif principal.role is Role.TRAINER:
                why = "a trainer token may stream only training replays (mode 'training')"
            else:
                why = f"a {principal.role.value} token may not stream calls"
            raise ProtocolError(ErrorCode.FORBIDDEN, why)
        limit = self.ctx.config.live_max_speed
        fast = start.source == "transcript" and (start.speed == 0 or (limit and start.speed > limit))
        if start.mode == "live" and fast and not can_train(principal):
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, f"live calls are replayed at most {limit:g}x real time; use mode 'training'"
            )

    async def _claim(self, start: Start) -> ResumePoint | None:
        """Take the call id: replace a dead socket still holding it; find where a resumed call stopped."""
        ctx = self.ctx
        owner = ctx.owners.get(start.call_id)
        if owner is not None and owner is not self:
            session = owner.session
            same = session is not None and session.agent_id == start.agent_id and session.start.mode == start.mode
            if start.resume_from is None or not same or await owner.alive():
                message = f"call {start.call_id!r} is already being streamed on another connection"
                raise ProtocolError(ErrorCode.CALL_IN_PROGRESS, message)
            log.info("call %s: the old connection is dead; the call resumes on a new one", start.call_id,
                     extra={"call_id": start.call_id, "reason": "resume"})
            if not await owner.interrupt():
                raise ProtocolError(
                    ErrorCode.CALL_IN_PROGRESS, f"call {start.call_id!r} is still finishing on its old connection"
                )
        point = ctx.resume_book.get(start.call_id)
        store = ctx.pipeline.store if ctx.pipeline is not None else None
        if store is not None:
            try:
                stored = await point_from_store(store, start.call_id)
            except Exception:
                log.exception("call %s: could not read the stored call to resume it", start.call_id)
            else:
                point = stored.merge(point) if stored is not None else point
        if point is None:
            return None
        if point.agent_id != start.agent_id or point.mode != start.mode:
            raise ProtocolError(
                ErrorCode.FORBIDDEN, f"call {start.call_id!r} exists with another agent or mode and cannot be resumed"
            )
        return point if start.resume_from is not None else point.numbering_only()

    def _limiter(self, session: CallSession) -> AudioRateLimiter:
        config = self.ctx.config
        if not session.live or not config.live_max_speed:
            return AudioRateLimiter.unlimited()
        return AudioRateLimiter(config.live_max_speed, refuse_speed=config.live_refuse_speed or None)

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
        mode = s.mode
        self.ctx.metrics.call_started(mode)
        log.info("call %s started: agent %s, %s Hz %s x%d %s, %s%s, from %s", call_id, s.agent_id,
                 s.sample_rate, s.encoding, s.channels, "/".join(s.roles), mode,
                 f", resumed from {s.resume_from:.2f} s" if s.resume_from is not None else "", _peer(self.ws),
                 extra={"call_id": call_id, "agent_id": s.agent_id, "mode": mode, "event": "call_started"})
        self._outbox.put(ready)
        replay = None if session.is_audio else Replay(session)
        self._reader = asyncio.create_task(self._read(session, replay), name=f"read {call_id}")
        if self._shutdown or self._interrupted:  # stopping, or replaced, while the recognizers were created
            self._reader.cancel()
        await asyncio.wait({self._reader})
        socket_lost = self._interrupted
        if self._reader.cancelled():
            reason, error = "interrupted", None
        elif (failure := self._reader.exception()) is not None:
            log.error("call %s: reader failed", call_id, exc_info=failure)
            reason, error = "error", ProtocolError(ErrorCode.INTERNAL, "internal server error")
        else:
            reason, error = self._reader.result()
            socket_lost = socket_lost or reason in ("client_gone", "interrupted")
        if error is not None:
            self._outbox.put(self.ctx.error(Error.from_exc(error, call_id)))
        if replay is not None:
            await replay.finish(wait=reason == "completed")
        summary = await session.finish(reason)
        self.ctx.metrics.call_ended(mode, summary.reason)
        if self.ctx.pipeline is not None:
            self.ctx.pipeline.detach(call_id)
        self._release(session)  # the call id is free again once its transcript is complete
        dropped = self._outbox.queue.dropped_partials
        stats = session.role_stats()
        replayed = sum(st.replayed for st in stats.values())
        log.info("call %s ended (%s): %.1f s audio, finals %s, rtf %s%s%s", call_id, summary.reason,
                 summary.duration, summary.utterances, {r: round(st.rtf, 3) for r, st in stats.items()},
                 f", {dropped} partial(s) not delivered" if dropped else "",
                 f", {replayed} replayed transcript(s) dropped" if replayed else "",
                 extra={"call_id": call_id, "agent_id": s.agent_id, "mode": mode, "reason": summary.reason,
                        "duration": summary.duration, "dropped": dropped, "event": "call_ended"})
        session.remove_sink(self._to_client)
        if socket_lost:
            await self._outbox.drain(0)
            return
        self._outbox.put(Ended(call_id, summary))
        await self._outbox.drain()
        if error is not None:
            await _close(self.ws, error.close_code, error.code.value)
        elif self._shutdown:
            await _close(self.ws, CLOSE_GOING_AWAY, "server shutting down")
        else:
            await _close(self.ws, CLOSE_NORMAL, "call ended")

    def _to_client(self, event: Event) -> None:
        if not isinstance(event, CallStarted | CallEnded):  # those are for subscribers
            self._outbox.put(event)

    async def _reject(self, exc: ProtocolError, call_id: str | None = None) -> None:
        log.info("call socket %s refused: %s", _peer(self.ws), exc,
                 extra={"call_id": call_id, "code": exc.code.value, "event": "refused"})
        self._outbox.put(self.ctx.error(Error.from_exc(exc, call_id)))
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
        """Read until ``end``, a fatal error or the client going away: (summary reason, fatal error).

        A peer that stops answering pings ends the call as ``interrupted``; one that
        closes or drops the connection without ``end``, as ``client_gone``.  Live audio
        faster than ``live_max_speed`` is throttled: the next read waits.
        """
        limiter = self._limiter(session)
        s = session.start
        frame_bytes = _SAMPLE_BYTES.get(s.encoding, 2) * s.channels * s.sample_rate
        while True:
            try:
                is_text, data = await self.ws.recv_typed()
            except ConnectionClosed as exc:
                return ("interrupted" if heartbeat_lost(exc) else "client_gone"), None
            try:
                self._check_size(data)
                if not is_text:
                    await session.feed_audio(data)
                    delay = limiter.check(len(data) / frame_bytes)
                    if delay > 0:
                        self.ctx.metrics.throttled(delay)
                        await asyncio.sleep(delay)
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
        log.info("call %s: ignored bad message (%s)", session.call_id, code.value,
                 extra={"call_id": session.call_id, "code": code.value})
        self._outbox.put(self.ctx.error(Error(code=code.value, message=message, fatal=False, call_id=session.call_id)))


class SubscriberConnection:
    """One ``/ws/subscribe`` socket: a ``subscribe`` message, then the matching events.

    Each event also passes ``can_see`` for the socket's principal: agents get only
    their own calls (and no supervisor alerts), trainers only training replays.
    Browser pages get a renewed ticket after ``subscribed`` and every half ticket
    lifetime after, for their next connection; the socket is closed once the
    token behind it is revoked.
    """

    def __init__(self, ws: TypedConnection, ctx: ServerContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.principal = principal_of(ws)
        self.subscriber: Subscriber | None = None
        self._close_code = CLOSE_GOING_AWAY
        self._close_reason = "server shutting down"

    def shutdown(self) -> None:
        if self.subscriber is not None:
            self.subscriber.close()

    async def run(self) -> None:
        try:
            sub = await self._read_subscribe()
            self._authorize(sub)
            self.subscriber = self.ctx.hub.subscribe(
                self._matcher(sub), queue_size=self.ctx.config.subscriber_queue_size
            )
        except ProtocolError as exc:
            log.info("subscriber %s refused: %s", _peer(self.ws), exc, extra={"code": exc.code.value})
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(self.ctx.error(Error.from_exc(exc)).to_json())
            await _close(self.ws, exc.close_code, exc.code.value)
            return
        except ConnectionClosed:
            return
        subscriber = self.subscriber
        tasks = [asyncio.create_task(self._read_rest(subscriber), name=f"read {subscriber.name}")]
        try:
            await self.ws.send(self._snapshot(sub).to_json())
            if self.ws.by_ticket:
                tasks.append(asyncio.create_task(self._renew_tickets(subscriber), name=f"tickets {subscriber.name}"))
            while (event := await subscriber.get()) is not None:
                await self.ws.send(event.to_json())
        except ConnectionClosed:
            pass
        finally:
            subscriber.close()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await _close(self.ws, self._close_code, self._close_reason)

    # ------------------------------------------------------------ authorisation

    def _authorize(self, sub: Subscribe) -> None:
        principal = self.principal
        if sub.all:
            allowed = can_subscribe(principal, None, all=True)
        elif sub.agent_id is not None:
            allowed = can_subscribe(principal, sub.agent_id)
        else:
            agent_id, mode = self.ctx.call_of(sub.call_id)
            allowed = can_subscribe(principal, agent_id, mode=mode)
        if not allowed:
            what = "every call" if sub.all else "this call" if sub.call_id is not None else "this agent's calls"
            raise ProtocolError(ErrorCode.FORBIDDEN, f"a {principal.role.value} token may not watch {what}")

    def _visible(self, agent_id: str | None, call_id: str | None, event: Event | None = None) -> bool:
        principal = self.principal
        if principal.unrestricted or principal.role is Role.SUPERVISOR:
            return True
        if principal.role is Role.AGENT and isinstance(event, Alert | AlertAcknowledged):
            return False  # alerts are for supervisors
        return can_see(principal, agent_id, self.ctx.call_of(call_id)[1])

    def _matcher(self, sub: Subscribe) -> Matcher:
        base = matcher_for(sub)
        principal = self.principal
        if principal.unrestricted or principal.role is Role.SUPERVISOR:
            return base

        def matches(env: Envelope) -> bool:
            return base(env) and self._visible(env.agent_id, env.call_id, env.event)

        return matches

    def _snapshot(self, sub: Subscribe) -> Subscribed:
        registry = self.ctx.registry
        if sub.call_id is not None:
            sessions = [s for s in (registry.get(sub.call_id),) if s is not None]
        elif sub.agent_id is not None:
            sessions = [s for s in registry.sessions() if s.agent_id == sub.agent_id]
        else:
            sessions = registry.sessions()
        sessions = [s for s in sessions if self._visible(s.agent_id, s.call_id)]
        following = None
        current = registry.for_agent(sub.agent_id) if sub.agent_id is not None else None
        if current is not None and self._visible(current.agent_id, current.call_id):
            following = current.call_id
        alerts: tuple[Alert, ...] = ()
        if self.ctx.pipeline is not None:
            book = self.ctx.pipeline.alerts
            recent = book.recent() if sub.all else book.recent([s.call_id for s in sessions])
            alerts = tuple(a for a in recent if self._visible(a.agent_id, a.call_id, a))
        return Subscribed(calls=tuple(s.state() for s in sessions), alerts=alerts, following=following)

    async def _renew_tickets(self, subscriber: Subscriber) -> None:
        """Send a fresh ticket now and every half ticket lifetime; close once the token is revoked."""
        access = self.ctx.access
        ttl = access.policy.ticket_ttl
        while True:
            if not access.still_valid(self.principal):
                log.info("subscriber %s: its token was revoked or expired; closing", subscriber.name,
                         extra={"subscriber": subscriber.name, "code": ErrorCode.UNAUTHORIZED.value})
                subscriber.queue.put(self.ctx.error(
                    Error(ErrorCode.UNAUTHORIZED.value, "the token of this page was revoked or expired", fatal=True)
                ))
                self._close_code, self._close_reason = CLOSE_POLICY, ErrorCode.UNAUTHORIZED.value
                subscriber.close()
                return
            ticket = access.renew(self.principal)
            if ticket is None:
                return
            subscriber.queue.put(Ticket(ticket=ticket, expires_in=int(ttl)))
            await asyncio.sleep(ttl / 2)

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
        principal = self.principal
        if not can_acknowledge(principal):
            return Error(ErrorCode.FORBIDDEN.value, "only supervisors acknowledge alerts")
        by = message.by if principal.unrestricted else principal.subject  # never a name the client makes up
        pipeline = self.ctx.pipeline
        ack = await pipeline.acknowledge(message.alert_id, by, self.ctx.hub, message.note) if pipeline else None
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
                subscriber.queue.put(self.ctx.error(error))
