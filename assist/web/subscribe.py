"""``/ws/subscribe``: overlays and dashboards (a ``subscribe`` message, then the matching events).

Who sees what: a principal sees only what ``can_see`` lets it (agents their own
calls, trainers training replays), and training replays never reach a view of
an agent: a subscription by ``agent_id`` follows that agent's live calls only
(a trainer's, training replays only; in demo mode the demo agent's, its training replays); a replay is
watched by its ``call_id``.
Supervisors' ``all`` view shows replays marked as training, without their alerts.
Each principal holds at most ``max_subscriptions_per_principal`` subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed

from assist.live.hub import Envelope, Matcher, Subscriber, matcher_for
from assist.live.session import CallSession
from assist.protocol.client_messages import parse_client_message
from assist.protocol.enums import AlertKind, CallMode
from assist.protocol.errors import CLOSE_GOING_AWAY, CLOSE_POLICY, ErrorCode, ProtocolError
from assist.protocol.events import (
    Acknowledge,
    Alert,
    AlertAcknowledged,
    Error,
    Event,
    Subscribe,
    Subscribed,
    Ticket,
)
from assist.training.demo_agent import DEMO_AGENT
from assist.web.auth import Role, can_acknowledge, can_see, can_subscribe
from assist.web.quotas import Slot, release_nothing
from assist.web.wsbase import AssistConnection, ServerContext, close_quietly, peer, principal_of

log = logging.getLogger("assist.web.server")
TRAINING = "training"


def _mode(value: str | None) -> CallMode | None:
    """A call mode carried as text by an event envelope (None when absent or unknown)."""
    return CallMode(value) if value in tuple(CallMode) else None


class SubscriberConnection:
    """One ``/ws/subscribe`` socket: a ``subscribe`` message, then the matching events.

    Each event also passes ``can_see`` for the socket's principal: agents get only
    their own calls (and no supervisor alerts), trainers only training replays.
    Browser pages get a renewed ticket after ``subscribed`` and every half ticket
    lifetime after, for their next connection; the socket is closed once the
    token behind it is revoked.
    """

    def __init__(self, ws: AssistConnection, ctx: ServerContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.principal = principal_of(ws)
        self.subscriber: Subscriber | None = None
        self._close_code = CLOSE_GOING_AWAY
        self._close_reason = "server shutting down"
        self._release_quota: Callable[[], None] = release_nothing  # idempotent

    def shutdown(self) -> None:
        if self.subscriber is not None:
            self.subscriber.close()

    async def run(self) -> None:
        try:
            sub = await self._read_subscribe()
            self._authorize(sub)
            self._release_quota = self.ctx.quotas.take(self.principal, Slot.SUBSCRIPTION)
            self.subscriber = self.ctx.hub.subscribe(
                self._matcher(sub), queue_size=self.ctx.config.subscriber_queue_size
            )
        except ProtocolError as exc:
            self._release_quota()
            log.info("subscriber %s refused: %s", peer(self.ws), exc, extra={"code": exc.code.value})
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(self.ctx.error(Error.from_exc(exc)).to_json())
            await close_quietly(self.ws, exc.close_code, exc.code.value)
            return
        except ConnectionClosed:
            self._release_quota()
            return
        subscriber = self.subscriber
        tasks = [asyncio.create_task(self._read_rest(subscriber), name=f"read {subscriber.name}")]
        try:
            await self.ws.send((await self._floor_snapshot(sub)).to_json())
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
            self._release_quota()
        await close_quietly(self.ws, self._close_code, self._close_reason)

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

    def _visible(
        self, agent_id: str | None, call_id: str | None, event: Event | None = None, mode: str | None = None
    ) -> bool:
        """``mode``: the call's mode as the event carries it (a call on another node is unknown here)."""
        principal = self.principal
        if principal.unrestricted or principal.role is Role.SUPERVISOR:
            return True
        if principal.role is Role.AGENT and isinstance(event, Alert | AlertAcknowledged):
            return False  # alerts are for supervisors
        known = self.ctx.call_of(call_id)[1]
        return can_see(principal, agent_id, known if known is not None else _mode(mode))

    def _mode_ok(self, sub: Subscribe, mode: str | None, event: Event | None = None) -> bool:
        """Training replays reach a view only by call id, a trainer, (without alerts) the ``all`` view, or in
        demo mode the demo agent's own view (``/?agent=demo``: the demo's calls are training replays)."""
        if mode != TRAINING or sub.call_id is not None or self.principal.role is Role.TRAINER:
            return True
        if self.ctx.config.demo and sub.agent_id == DEMO_AGENT:
            return True
        if sub.all:
            return not isinstance(event, Alert | AlertAcknowledged)
        return False  # an agent's view (overlay, supervisor following an agent): live calls only

    def _matcher(self, sub: Subscribe) -> Matcher:
        base = matcher_for(sub)
        principal = self.principal
        everything = principal.unrestricted or principal.role is Role.SUPERVISOR

        def matches(env: Envelope) -> bool:
            if not (base(env) and self._mode_ok(sub, env.mode, env.event)):
                return False
            return everything or self._visible(env.agent_id, env.call_id, env.event, env.mode)

        return matches

    def _shown(self, sub: Subscribe, session: CallSession) -> bool:
        return self._mode_ok(sub, session.start.mode) and self._visible(session.agent_id, session.call_id)

    def _snapshot(self, sub: Subscribe) -> Subscribed:
        registry = self.ctx.registry
        if sub.call_id is not None:
            sessions = [s for s in (registry.get(sub.call_id),) if s is not None]
        elif sub.agent_id is not None:
            sessions = [s for s in registry.sessions() if s.agent_id == sub.agent_id]
        else:
            sessions = registry.sessions()
        sessions = [s for s in sessions if self._shown(sub, s)]
        following = None
        if sub.agent_id is not None:
            mine = [s for s in sessions if s.agent_id == sub.agent_id]
            following = max(mine, key=lambda s: s.started_at).call_id if mine else self._ended_crisis(sub)
        ended = [following] if following is not None and not sessions else []  # the agent's ended crisis call
        alerts: tuple[Alert, ...] = ()
        if self.ctx.pipeline is not None:
            book = self.ctx.pipeline.alerts
            recent = book.recent() if sub.all else book.recent([s.call_id for s in sessions] + ended)
            alerts = tuple(
                a for a in recent
                if self._visible(a.agent_id, a.call_id, a) and self._mode_ok(sub, self.ctx.call_of(a.call_id)[1], a)
            )
        last = self.ctx.resume_book.state  # an ended call's last state
        states = tuple(s.state() for s in sessions) + tuple(c for c in map(last, ended) if c is not None)
        return Subscribed(calls=states, alerts=alerts, following=following)

    def _ended_crisis(self, sub: Subscribe) -> str | None:
        """An agent with no live call: their newest ended call when it was a crisis whose critical alert no supervisor
        has acknowledged yet — the overlay keeps showing it, with what the operator still owes the caller (new-user
        trial 7: the overlay lost an ended crisis on reload, the supervisor page kept it).  A later call of the agent,
        live or ended, replaces it (the independent review of stop 19: an older crisis came back after a routine
        call), and so does the supervisor's acknowledgement."""
        if self.ctx.pipeline is None or sub.agent_id is None:
            return None
        newest = next((c for c in reversed(self.ctx.resume_book.states())
                       if c.agent_id == sub.agent_id and c.mode is CallMode.LIVE), None)
        if newest is None or not newest.critical or not self._visible(newest.agent_id, newest.call_id):
            return None
        alerts = [a for a in self.ctx.pipeline.alerts.recent([newest.call_id]) if a.kind is AlertKind.CRITICAL]
        return newest.call_id if alerts and all(a.acknowledged_by is None for a in alerts) else None

    async def _floor_snapshot(self, sub: Subscribe) -> Subscribed:
        """The snapshot with the live calls of the cluster's other nodes (from Redis), not only this node's."""
        snapshot = self._snapshot(sub)
        floor = self.ctx.floor
        if floor is None:
            return snapshot
        here = {c.call_id for c in snapshot.calls}
        principal = self.principal
        everything = principal.unrestricted or principal.role is Role.SUPERVISOR
        remote = [
            c for c in await floor.remote_calls()
            if c.call_id not in here
            and (sub.all or c.call_id == sub.call_id or c.agent_id == sub.agent_id)
            and self._mode_ok(sub, c.mode)
            and (everything or can_see(principal, c.agent_id, c.mode))
        ]
        if not remote:
            return snapshot
        calls = (*snapshot.calls, *sorted(remote, key=lambda c: c.started_at))
        following = snapshot.following
        if sub.agent_id is not None:
            mine = [c for c in calls if c.agent_id == sub.agent_id]
            following = max(mine, key=lambda c: c.started_at).call_id if mine else snapshot.following
        return Subscribed(calls=calls, alerts=snapshot.alerts, following=following)

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
        within = self.ctx.config.start_timeout_seconds
        is_text, data = await self.ws.recv_first(within, ErrorCode.BAD_MESSAGE, "subscribe")
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
