"""The floor's live calls in Redis: what each node streams, which nodes are alive, and calls left by dead ones.

Every node, once a second (``interval``), in one transaction:

* ``SET assist:alive:<node> PX dead_after``: the node is alive while this key exists;
* ``HSET assist:nodes <node> <unix time>``: the nodes of the floor and their last beat;
* replaces ``assist:calls:<node>`` (call id → its ``call_state`` JSON) with its live calls.

A page that connects late gets every node's live calls in its ``subscribed`` snapshot
(``remote_calls``), whichever node it reaches.  After each beat a node looks for nodes whose
``alive`` key expired (killed, or cut off from Redis for ``dead_after`` seconds): the first
survivor to take ``assist:sweep:<node>`` marks that node's calls ``interrupted`` in the shared
store, unless the call has been resumed on a live node or has ended, tells the local pages
(``call_ended``), and forgets the dead node.  A node that starts again under the same name
sweeps what its earlier process left first.  Interrupted calls stay resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from assist.live.tasks import cancel_and_wait
from assist.protocol.decode import decode as decode_typed
from assist.protocol.enums import EndReason
from assist.protocol.events import CallEnded, CallState, CallSummary

if TYPE_CHECKING:
    from assist.live.hub import Hub
    from assist.store.base import CallStore

log = logging.getLogger(__name__)

NODES: Final[str] = "assist:nodes"
INTERVAL: Final[float] = 1.0
DEAD_AFTER: Final[float] = 5.0
SWEEP_LOCK_SECONDS: Final[int] = 30
READ_TIMEOUT: Final[float] = 1.0  # s a snapshot waits for the other nodes' calls


def alive_key(node: str) -> str:
    return f"assist:alive:{node}"


def calls_key(node: str) -> str:
    return f"assist:calls:{node}"


def sweep_key(node: str) -> str:
    return f"assist:sweep:{node}"


StatesFn = Callable[[], Iterable[CallState]]


class LiveFloor:
    """One node's beat in Redis and its view of the other nodes' live calls.  ``await start()``; ``await stop()``."""

    def __init__(
        self,
        url: str,
        node: str,
        *,
        store: CallStore | None = None,
        hub: Hub | None = None,
        interval: float = INTERVAL,
        dead_after: float = DEAD_AFTER,
    ) -> None:
        self.url = url
        self.node = node
        self.store = store
        self.hub = hub
        self.interval = interval
        self.dead_after = max(dead_after, 2 * interval)
        self.states: StatesFn = tuple  # set by the server: this node's live calls
        self.swept: list[str] = []  # calls this node marked interrupted
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._client = aioredis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        with contextlib.suppress(RedisError, OSError):
            await self._sweep_node(self._client, self.node)  # what an earlier process of this name left
        self._task = asyncio.create_task(self._run(), name="floor-beat")

    async def stop(self) -> None:
        """Leave the floor: this node's calls have ended or moved (drain) and it is no longer alive."""
        await cancel_and_wait(self._task)
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._beat(self._client)  # the calls still open (a stop without drain) stay to be swept
                async with self._client.pipeline(transaction=True) as pipe:
                    pipe.delete(alive_key(self.node))
                    if not any(True for _ in self.states()):
                        pipe.delete(calls_key(self.node))
                        pipe.hdel(NODES, self.node)
                    await pipe.execute()
            await self._client.aclose()

    async def _run(self) -> None:
        assert self._client is not None
        client = self._client
        while True:
            try:
                await self._beat(client)
                await self._sweep(client)
            except (RedisError, OSError) as exc:
                log.debug("floor: Redis unavailable (%s)", type(exc).__name__)
            await asyncio.sleep(self.interval)

    async def _beat(self, client: aioredis.Redis) -> None:
        calls = {s.call_id: s.to_json() for s in self.states()}
        async with client.pipeline(transaction=True) as pipe:
            pipe.set(alive_key(self.node), str(time.time()), px=int(self.dead_after * 1000))
            pipe.hset(NODES, self.node, str(time.time()))
            pipe.delete(calls_key(self.node))
            if calls:
                pipe.hset(calls_key(self.node), mapping=calls)  # type: ignore[arg-type]
            await pipe.execute()

    # ------------------------------------------------------------ the other nodes' calls

    async def _alive_nodes(self, client: aioredis.Redis) -> tuple[list[str], list[str]]:
        nodes = sorted(_text(n) for n in await client.hkeys(NODES))
        if not nodes:
            return [], []
        async with client.pipeline(transaction=False) as pipe:
            for n in nodes:
                pipe.exists(alive_key(n))
            found = await pipe.execute()
        alive = [n for n, f in zip(nodes, found, strict=True) if f]
        return alive, [n for n in nodes if n not in alive]

    async def _calls_of(self, client: aioredis.Redis, nodes: list[str]) -> dict[str, Mapping[Any, Any]]:
        if not nodes:
            return {}
        async with client.pipeline(transaction=False) as pipe:
            for n in nodes:
                pipe.hgetall(calls_key(n))
            found = await pipe.execute()
        return dict(zip(nodes, found, strict=True))

    async def remote_calls(self) -> list[CallState]:
        """The live calls of the other alive nodes (empty if Redis does not answer within ``READ_TIMEOUT``)."""
        if self._client is None:
            return []
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                alive, _ = await self._alive_nodes(self._client)
                found = await self._calls_of(self._client, [n for n in alive if n != self.node])
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("floor: other nodes' calls unavailable (%s); snapshot has this node's only",
                        type(exc).__name__)
            return []
        out: list[CallState] = []
        for entries in found.values():
            for raw in entries.values():
                with contextlib.suppress(KeyError, ValueError, TypeError):
                    data = json.loads(_text(raw))
                    out.append(decode_typed(CallState, data, CallState.type))
        return out

    # ------------------------------------------------------------ calls left by dead nodes

    async def _sweep(self, client: aioredis.Redis) -> None:
        _, dead = await self._alive_nodes(client)
        for node in dead:
            if node != self.node:
                await self._sweep_node(client, node)

    async def _sweep_node(self, client: aioredis.Redis, node: str) -> None:
        if not await client.set(sweep_key(node), self.node, nx=True, ex=SWEEP_LOCK_SECONDS):
            return  # another survivor sweeps it
        left = await client.hgetall(calls_key(node))
        last_beat = await client.hget(NODES, node)
        ended_at = float(_text(last_beat)) if last_beat is not None else time.time()
        alive, _ = await self._alive_nodes(client)
        live: set[str] = {state.call_id for state in self.states()}
        for entries in (await self._calls_of(client, [n for n in alive if n != node])).values():
            live.update(_text(k) for k in entries)
        for raw_id, raw_state in left.items():
            call_id = _text(raw_id)
            if call_id in live:
                continue  # resumed on a live node
            if await self._interrupt(call_id, ended_at):
                self._tell_pages(_text(raw_state))
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(calls_key(node))
            if node != self.node:
                pipe.hdel(NODES, node)
            await pipe.execute()
        await client.delete(sweep_key(node))

    async def _interrupt(self, call_id: str, ended_at: float) -> bool:
        """Mark a call still open in the store as interrupted; False if it ended or is unknown."""
        store = self.store
        if store is None:
            return True
        from assist.store.db import NotFound

        try:
            data = await store.get_call(call_id)
            if data["call"].get("end_reason") is not None:
                return False
            await store.end_call(call_id, max(ended_at, float(data["call"]["started_at"])), EndReason.INTERRUPTED)
        except NotFound:
            return False
        except Exception:
            log.exception("floor: could not mark call %s interrupted", call_id)
            return False
        log.warning("call %s: its node stopped beating; marked interrupted", call_id,
                    extra={"call_id": call_id, "reason": "interrupted", "event": "call_swept"})
        self.swept.append(call_id)
        return True

    def _tell_pages(self, raw_state: str) -> None:
        if self.hub is None:
            return
        with contextlib.suppress(KeyError, ValueError, TypeError):
            state = decode_typed(CallState, json.loads(raw_state), CallState.type)
            summary = CallSummary(duration=state.duration, utterances={}, reason=EndReason.INTERRUPTED)
            self.hub.publish(CallEnded(state.call_id, state.agent_id, summary), call_id=state.call_id,
                             agent_id=state.agent_id, mode=state.mode)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
