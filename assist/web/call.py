"""``/ws/call``: one call's socket (``start``, audio frames or transcript lines, ``end``).

Transport only: protocol checks, who may stream what (the principal authenticated
before the upgrade, docs/security.md), per-principal quotas, the live audio
pace, idle and maximum-length limits, resuming interrupted calls (never ended
ones), bounded outgoing queues and close codes.  The call pipeline itself is
``assist.live.session.CallSession``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed

from assist.live.hub import EventQueue
from assist.live.resumption import CLOSED_REASONS, ResumePoint, point_from_store
from assist.live.session import CallSession
from assist.protocol.client_messages import parse_client_message
from assist.protocol.errors import CLOSE_GOING_AWAY, CLOSE_NORMAL, ErrorCode, ProtocolError
from assist.protocol.events import (
    CallEnded,
    CallStarted,
    End,
    Ended,
    Error,
    Event,
    Start,
    TranscriptLine,
)
from assist.web.auth import Role, can_stream, can_train
from assist.web.limits import AudioRateLimiter
from assist.web.quotas import Slot, release_nothing
from assist.web.transcript_feed import TranscriptFeed
from assist.web.wsbase import AssistConnection, Outbox, ServerContext, close_quietly, peer, principal_of

log = logging.getLogger("assist.web.server")

PROBE_TIMEOUT = 2.0  # a resume waits this long for the call's old socket to answer a ping
TAKEOVER_TIMEOUT = 10.0  # ... and this long for the old session to finish once it is declared dead
_SAMPLE_BYTES = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}


class CallConnection:
    """One ``/ws/call`` socket: ``start``, audio frames, ``end`` (docs/protocol.md)."""

    def __init__(self, ws: AssistConnection, ctx: ServerContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.principal = principal_of(ws)
        self.session: CallSession | None = None
        self._outbox = Outbox(ws, EventQueue(ctx.config.send_queue_size))
        self._reader: asyncio.Task[tuple[str, ProtocolError | None]] | None = None
        self._shutdown = False
        self._interrupted = False  # declared dead by a client resuming the call on a new socket
        self._released: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._feed: TranscriptFeed | None = None
        self._release_quota: Callable[[], None] = release_nothing  # idempotent

    @property
    def dropped_events(self) -> int:
        """Events this socket's client did not get because it read too slowly."""
        return self._outbox.queue.dropped

    def shutdown(self) -> None:
        """Server is stopping: stop reading; a started call is finished with reason "interrupted"."""
        self._shutdown = True
        if self._reader is not None:
            self._reader.cancel()
        if self._feed is not None:
            self._feed.hurry()  # lines already sent are delivered now, not on the replay clock

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
            self._release_quota = self.ctx.quotas.take(self.principal, Slot.CALL)
            resume = await self._claim(start)
        except ProtocolError as exc:
            self._release_quota()
            await self._reject(exc, call_id)
            self._released.set_result(None)
            return
        except ConnectionClosed:
            self._release_quota()
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
            self._release_quota()
            await self._reject(exc, call_id=start.call_id)
            self._released.set_result(None)
            return
        ctx.owners[session.call_id] = self
        self.session = session
        try:
            await self._run_call(session)
        finally:
            self._release(session)
            self._release_quota()

    def _release(self, session: CallSession) -> None:
        """The call id is free again (its transcript complete): remember where the call stopped."""
        ctx = self.ctx
        if ctx.registry.get(session.call_id) is session:
            summary = session.summary
            if summary is not None:  # an ended call is remembered as closed: it can never be reopened
                point = dataclasses.replace(session.resume_point(), closed=summary.reason in CLOSED_REASONS)
                # with its last state: the agent's overlay reopened between calls (``subscribed.following``)
                ctx.resume_book.remember(session.call_id, point, session.state())
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
        if point.closed:
            raise ProtocolError(
                ErrorCode.CALL_ENDED, f"call {start.call_id!r} has ended; an ended call cannot be resumed or reopened"
            )
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
        mode = session.start.mode
        session.add_sink(lambda ev: hub.publish(ev, call_id=call_id, agent_id=session.agent_id, mode=mode))
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
                 f", resumed from {s.resume_from:.2f} s" if s.resume_from is not None else "", peer(self.ws),
                 extra={"call_id": call_id, "agent_id": s.agent_id, "mode": mode, "event": "call_started"})
        self._outbox.put(ready)
        replay = self._feed = None if session.is_audio else TranscriptFeed(session)
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
            await replay.finish(wait=reason == "completed" and not self._shutdown)
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
            await close_quietly(self.ws, error.close_code, error.code.value)
        elif self._shutdown:
            await close_quietly(self.ws, CLOSE_GOING_AWAY, "server shutting down")
        else:
            await close_quietly(self.ws, CLOSE_NORMAL, "call ended")

    def _to_client(self, event: Event) -> None:
        if not isinstance(event, CallStarted | CallEnded):  # those are for subscribers
            self._outbox.put(event)

    async def _reject(self, exc: ProtocolError, call_id: str | None = None) -> None:
        log.info("call socket %s refused: %s", peer(self.ws), exc,
                 extra={"call_id": call_id, "code": exc.code.value, "event": "refused"})
        self._outbox.put(self.ctx.error(Error.from_exc(exc, call_id)))
        await self._outbox.drain()
        await close_quietly(self.ws, exc.close_code, exc.code.value)

    def _check_size(self, data: bytes) -> None:
        limit = self.ctx.config.max_frame_bytes
        if len(data) > limit:
            raise ProtocolError(
                ErrorCode.FRAME_TOO_LARGE, f"a message of {len(data)} bytes is over the limit of {limit} bytes"
            )

    async def _read_start(self) -> Start:
        is_text, data = await self.ws.recv_first(self.ctx.config.start_timeout_seconds, ErrorCode.NOT_STARTED, "start")
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

    async def _read(self, session: CallSession, replay: TranscriptFeed | None) -> tuple[str, ProtocolError | None]:
        """Read until ``end``, a fatal error or the client going away: (summary reason, fatal error).

        A peer that stops answering pings ends the call as ``interrupted``; one that
        closes or drops the connection without ``end``, as ``client_gone``.  Live audio
        faster than ``live_max_speed`` is throttled: the next read waits.  A call that
        sends nothing for ``idle_timeout`` seconds ends with ``idle_timeout``; one open
        longer than ``max_call_seconds`` (wall clock) with ``call_too_long``.
        """
        limiter = self._limiter(session)
        s = session.start
        config = self.ctx.config
        frame_bytes = _SAMPLE_BYTES.get(s.encoding, 2) * s.channels * s.sample_rate
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.max_call_seconds
        while True:
            try:
                async with asyncio.timeout(min(config.idle_timeout, deadline - loop.time())):
                    is_text, data = await self.ws.recv_typed()
            except ConnectionClosed:
                return ("interrupted" if self.ws.heartbeat_lost else "client_gone"), None
            except TimeoutError:
                if loop.time() >= deadline - 0.01:
                    limit = f"the call is longer than the maximum of {config.max_call_seconds:g} s"
                    return "error", ProtocolError(ErrorCode.CALL_TOO_LONG, limit)
                idle = f"nothing was received for {config.idle_timeout:g} s"
                return "error", ProtocolError(ErrorCode.IDLE_TIMEOUT, idle)
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
                elif len(message.text) > config.max_line_chars:
                    too_long = f"a line of {len(message.text)} characters is over the limit of {config.max_line_chars}"
                    self._non_fatal(session, ErrorCode.LINE_TOO_LONG, too_long + "; split it into utterances")
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
