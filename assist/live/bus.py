"""Call events across nodes over a Redis Stream, so a supervisor on any node sees every call.

``ClusterHub`` is the node's subscriber hub: an event published on it goes to the local
subscribers at once (as before) and is handed to ``EventBus.offer``, which never waits:
it appends to a bounded buffer that a sender task writes to the stream ``assist:events``.
Everything buffered goes out as **one** stream entry (``XADD … MAXLEN ~``): the field ``n``
names the node and ``b`` holds one line per event, ``type␟call␟agent␟mode␟event JSON``
(``␟`` is U+001F), so a burst of partials costs one XADD and the event is encoded once.
A reader task follows the stream (``XREAD BLOCK``): its own entries are skipped by ``n``
before anything else is decoded, and another node's event is decoded only when someone here
needs it (a local subscriber, or the alert book for alerts and acknowledgements).  Entries of
the earlier one-event-per-entry form (field ``e``) are still read.  One stream for the floor
keeps every call's events in order (one node publishes a call).

Redis down or restarting never stops a call: the sender keeps events in its buffer (the
oldest are dropped past ``buffer_size``) and retries with back-off; the reader reports
the outage to the local pages as a ``stream_gap`` event (``state`` "open", then "closed"
with how long) so they re-sync from the store (``/api/calls``).  Events a node had to drop
from its buffer are announced on the stream as a gap too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from assist.live.hub import Hub
from assist.protocol.decode import decode as decode_typed
from assist.protocol.events import Alert, AlertAcknowledged, CallStarted, Event, Transcript

log = logging.getLogger(__name__)

STREAM: Final[str] = "assist:events"
BATCH: Final[int] = 500  # events per stream entry; entries per XREAD
SEP: Final[str] = "\x1f"  # between the fields of one event's line in an entry

RETRY_FIRST: Final[float] = 0.1
RETRY_MAX: Final[float] = 2.0
READ_BLOCK_MS: Final[int] = 1000


@dataclass(frozen=True, slots=True)
class StreamGap(Event):
    """Events from other nodes may have been missed: re-sync from the store once ``state`` is closed."""

    type: ClassVar[str] = "stream_gap"
    state: str  # "open": the event stream is unavailable; "closed": it is back
    since: float  # unix time the gap began
    seconds: float = 0.0  # its length, once closed
    node: str = ""  # the node that reports it
    lost: int = 0  # events a node dropped from its buffer (0: unknown or none)


@dataclass(frozen=True, slots=True)
class Relayed(Event):
    """Another node's event, passed on as its JSON (types the hub does not inspect)."""

    type: ClassVar[str] = "relayed"
    text: str

    def to_json(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.text)
        return value


_TYPED: dict[str, type[Event]] = {
    cls.type: cls for cls in (Transcript, Alert, AlertAcknowledged, CallStarted)
}


# decoded even with no local subscriber: the alert book keeps them for pages that connect later
NEEDED_REMOTE: Final[frozenset[str]] = frozenset({Alert.type, AlertAcknowledged.type})


def decode(text: str) -> Event:
    """The event of a stream entry: typed where the hub or the alert book look inside, else ``Relayed``."""
    raw = json.loads(text)
    kind = raw.get("type")
    if kind in _TYPED:
        return decode_typed(_TYPED[kind], raw, kind)
    if kind == StreamGap.type:
        return StreamGap(state=str(raw["state"]), since=float(raw["since"]), seconds=float(raw.get("seconds", 0)),
                         node=str(raw.get("node", "")), lost=int(raw.get("lost", 0)))
    return Relayed(text)


@dataclass(frozen=True, slots=True)
class _Out:
    event: Event
    call_id: str | None
    agent_id: str | None
    mode: str | None


class ClusterHub(Hub):
    """The local hub, whose own events also go to the other nodes (``bus``, set once it exists)."""

    def __init__(self, *, max_subscribers: int = 256, queue_size: int = 256) -> None:
        super().__init__(max_subscribers=max_subscribers, queue_size=queue_size)
        self.bus: EventBus | None = None

    def publish(
        self, event: Event, *, call_id: str | None = None, agent_id: str | None = None, mode: str | None = None
    ) -> None:
        super().publish(event, call_id=call_id, agent_id=agent_id, mode=mode)
        if self.bus is not None and not isinstance(event, StreamGap):
            self.bus.offer(event, call_id, agent_id, mode)

    def deliver(
        self, event: Event, *, call_id: str | None = None, agent_id: str | None = None, mode: str | None = None
    ) -> None:
        """Another node's event: to the local subscribers only."""
        super().publish(event, call_id=call_id, agent_id=agent_id, mode=mode)


@dataclass
class BusStats:
    sent: int = 0
    received: int = 0
    dropped: int = 0  # events dropped from a full buffer
    gaps: int = 0  # outages seen by the reader


class EventBus:
    """One node's link to the floor's event stream.  ``await start()``; ``await stop()``."""

    def __init__(
        self,
        url: str,
        node: str,
        hub: ClusterHub,
        *,
        maxlen: int = 100_000,
        buffer_size: int = 10_000,
        on_remote: Callable[[Event], None] | None = None,
    ) -> None:
        self.url = url
        self.node = node
        self.hub = hub
        self.maxlen = maxlen
        self.on_remote = on_remote
        self.stats = BusStats()
        self._buffer: deque[_Out] = deque()
        self._buffer_size = buffer_size
        self._lost_since_sent = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._send_client: aioredis.Redis | None = None
        self._read_client: aioredis.Redis | None = None
        self.connected = False
        hub.bus = self

    async def start(self) -> None:
        """Start following the stream from now (older events are the store's business)."""
        self._send_client = aioredis.from_url(self.url, socket_timeout=5, socket_connect_timeout=2)
        self._read_client = aioredis.from_url(self.url, socket_timeout=READ_BLOCK_MS / 1000 + 5,
                                              socket_connect_timeout=2)
        last = "$"
        with contextlib.suppress(RedisError, OSError):
            info = await self._read_client.xinfo_stream(STREAM)
            last = _text(info["last-generated-id"])
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="bus-send"),
            asyncio.create_task(self._read_loop(last), name="bus-read"),
        ]

    async def stop(self, grace: float = 2.0) -> None:
        """Send what is buffered (for up to ``grace`` s), then stop."""
        self.hub.bus = None
        if self._buffer and self._tasks:
            deadline = time.monotonic() + grace
            while self._buffer and time.monotonic() < deadline:  # noqa: ASYNC110 - the sender empties it
                await asyncio.sleep(0.02)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in (self._send_client, self._read_client):
            if client is not None:
                await client.aclose()

    # ------------------------------------------------------------ publishing (never waits)

    def offer(self, event: Event, call_id: str | None, agent_id: str | None, mode: str | None = None) -> None:
        if len(self._buffer) >= self._buffer_size:
            self._buffer.popleft()
            self.stats.dropped += 1
            self._lost_since_sent += 1
        self._buffer.append(_Out(event, call_id, agent_id, mode))
        self._wake.set()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def _send_loop(self) -> None:
        assert self._send_client is not None
        client = self._send_client
        delay = RETRY_FIRST
        down_since: float | None = None
        while True:
            if not self._buffer:
                self._wake.clear()
                await self._wake.wait()
            batch = [self._buffer[i] for i in range(min(BATCH, len(self._buffer)))]
            lost = self._lost_since_sent
            lines = [
                SEP.join((out.event.type, out.call_id or "", out.agent_id or "", out.mode or "", out.event.to_json()))
                for out in batch
            ]
            if lost:
                gap = StreamGap("closed", down_since or time.time(), node=self.node, lost=lost)
                lines.insert(0, SEP.join((gap.type, "", "", "", gap.to_json())))
            try:
                await client.xadd(STREAM, {"n": self.node, "b": "\n".join(lines)}, maxlen=self.maxlen,
                                  approximate=True)
            except (RedisError, OSError) as exc:
                if down_since is None:
                    down_since = time.time()
                    log.warning("event stream unavailable (%s); %d event(s) buffered", type(exc).__name__,
                                len(self._buffer))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            for _ in range(min(len(batch), len(self._buffer))):
                self._buffer.popleft()  # only this task removes from the left, offer() only past a full buffer
            self._lost_since_sent -= lost
            self.stats.sent += len(batch)
            if down_since is not None:
                log.warning("event stream back after %.1f s", time.time() - down_since)
                down_since = None
            delay = RETRY_FIRST

    # ------------------------------------------------------------ following the other nodes

    async def _read_loop(self, last: str) -> None:
        assert self._read_client is not None
        client = self._read_client
        delay = RETRY_FIRST
        gap_since: float | None = None
        while True:
            try:
                if gap_since is not None:
                    last = await self._after_outage(client, last)
                reply: Any = await client.xread({STREAM: last}, count=BATCH, block=READ_BLOCK_MS)
            except (RedisError, OSError) as exc:
                self.connected = False
                if gap_since is None:
                    gap_since = time.time()
                    self.stats.gaps += 1
                    log.warning("event stream unavailable (%s): pages told to re-sync", type(exc).__name__)
                    self.hub.deliver(StreamGap("open", gap_since, node=self.node))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            self.connected = True
            delay = RETRY_FIRST
            if gap_since is not None:
                self.hub.deliver(StreamGap("closed", gap_since, round(time.time() - gap_since, 3), node=self.node))
                gap_since = None
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    last = _text(entry_id)
                    self._deliver(fields)

    async def _after_outage(self, client: aioredis.Redis, last: str) -> str:
        """Where to go on after an outage: from ``last``, unless Redis lost the stream (restarted)."""
        if last == "$":
            return last
        try:
            info = await client.xinfo_stream(STREAM)
        except RedisError:  # no stream any more: a restarted Redis without persistence
            return "0-0"
        newest = _text(info["last-generated-id"])
        return "0-0" if _id_key(newest) < _id_key(last) else last

    def _deliver(self, fields: dict[Any, Any]) -> None:
        node = fields.get(b"n", fields.get("n"))
        if node is not None and _text(node) == self.node:
            return  # this node's own entry: its subscribers had the events already
        batch = fields.get(b"b", fields.get("b"))
        if batch is None:  # one event per entry (the earlier form)
            data = {_text(k): _text(v) for k, v in fields.items()}
            self._deliver_one(data.get("e", ""), data.get("c", ""), data.get("a", ""), data.get("m", ""), True)
            return
        wanted = len(self.hub) > 0
        for line in _text(batch).split("\n"):
            parts = line.split(SEP, 4)
            if len(parts) != 5:
                log.warning("event stream: malformed event line skipped")
                continue
            kind, call_id, agent_id, mode, text = parts
            self._deliver_one(text, call_id, agent_id, mode, wanted or kind in NEEDED_REMOTE or kind == StreamGap.type)

    def _deliver_one(self, text: str, call_id: str, agent_id: str, mode: str, wanted: bool) -> None:
        self.stats.received += 1
        if not wanted:
            return  # nobody here would see it: not decoded
        try:
            event = decode(text)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("event stream: undecodable entry skipped (%s)", exc)
            return
        if self.on_remote is not None:
            self.on_remote(event)
        self.hub.deliver(event, call_id=call_id or None, agent_id=agent_id or None, mode=mode or None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms or 0), int(seq or 0)
