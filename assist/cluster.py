"""One node of a cluster: what ``assist serve`` adds when ``ASSIST_REDIS_URL`` is set (docs/deployment.md).

* the subscriber hub becomes a ``ClusterHub`` whose events reach every node over the Redis
  stream (``assist.live.bus``); other nodes' alerts enter this node's alert book, so a
  supervisor here can acknowledge an alert of a call streaming elsewhere;
* the page-ticket signing key is shared through Redis (the first node creates it), so a
  ticket issued by one node opens a socket on another and pages survive a node restart;
* every node beats in Redis and lists its live calls there (``assist.live.floor``): a page's
  snapshot shows the calls of every node, and the calls of a node that stops beating are
  marked interrupted by a survivor;
* token revocations and single-use page tickets are shared (``assist.web.shared_auth``);
* resumption state lives in the shared store (PostgreSQL): a call cut off on one node
  resumes on any other with its utterance ids continuing (``assist.live.resumption``).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Final

import redis.asyncio as aioredis

from assist.live.bus import ClusterHub, EventBus
from assist.live.floor import LiveFloor
from assist.live.pipeline import AssistPipeline
from assist.protocol.events import Alert, AlertAcknowledged, Event
from assist.settings import ServerConfig
from assist.web.shared_auth import SharedAuth

log = logging.getLogger("assist.web.server")

TICKET_KEY: Final[str] = "assist:ticket-secret"




async def shared_ticket_secret(redis_url: str) -> bytes:
    """The ticket signing key every node uses: created once (``SET NX``), then read by all."""
    client = aioredis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        await client.set(TICKET_KEY, secrets.token_hex(32), nx=True)
        value = await client.get(TICKET_KEY)
    finally:
        await client.aclose()
    if value is None:
        raise RuntimeError("the shared ticket key vanished from Redis")
    text = value.decode() if isinstance(value, bytes) else str(value)
    return bytes.fromhex(text)


def alert_book_sync(pipeline: AssistPipeline | None) -> AlertSync | None:
    return AlertSync(pipeline) if pipeline is not None else None


@dataclass
class AlertSync:
    """Keeps this node's alert book in step with the alerts and acknowledgements of the other nodes."""

    pipeline: AssistPipeline

    def __call__(self, event: Event) -> None:
        if isinstance(event, Alert):
            self.pipeline.alerts.add(event)
        elif isinstance(event, AlertAcknowledged):
            self.pipeline.alerts.acknowledge(event.alert_id, event.by, event.at, event.note)


@dataclass
class ClusterNode:
    hub: ClusterHub
    bus: EventBus
    ticket_secret: bytes
    floor: LiveFloor
    auth: SharedAuth

    async def start(self) -> None:
        await self.bus.start()
        await self.auth.start()
        await self.floor.start()

    async def stop(self) -> None:
        await self.floor.stop()
        await self.auth.stop()
        await self.bus.stop()


async def join(config: ServerConfig, pipeline: AssistPipeline | None) -> ClusterNode:
    """The hub, event bus and shared ticket key of this node (the bus is started by ``start``)."""
    name = config.node_name
    hub = ClusterHub(max_subscribers=config.max_subscribers, queue_size=config.subscriber_queue_size)
    bus = EventBus(config.redis_url, name, hub, maxlen=config.stream_maxlen, on_remote=alert_book_sync(pipeline))
    secret = await shared_ticket_secret(config.redis_url)
    store = pipeline.store if pipeline is not None else None
    floor = LiveFloor(config.redis_url, name, store=store, hub=hub, dead_after=config.node_timeout)
    auth = SharedAuth(config.redis_url, ticket_ttl=config.ticket_ttl)
    log.info("cluster node %s: events over %s", name, config.redis_url.split("@")[-1])
    return ClusterNode(hub, bus, secret, floor, auth)
