"""Token revocations and single-use page tickets shared by the nodes of a cluster (Redis).

* **Revocations.** ``assist tokens revoke ID`` (with ``ASSIST_REDIS_URL`` set) adds the token id
  to the hash ``assist:revoked`` and publishes it on the channel ``assist:revocations``.  Every node
  keeps the set in memory (loaded at start, then pushed to it by the channel, and reloaded after
  a Redis outage), so a revoked token is refused by every node at once, without a Redis round
  trip per request; pages on its tickets are closed at their next renewal.
* **Single-use tickets.** A websocket upgrade on a ticket claims it with ``SET NX`` on
  ``assist:ticket-used:<sha256 of the ticket>`` (expiring with the ticket): a ticket opens one
  socket on the whole floor, not one per node.  While Redis is unavailable, each node still
  refuses a ticket it has seen (its own signer) and the claim is skipped, logged as a warning:
  pages keep reconnecting through an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from assist.live.tasks import cancel_and_wait

log = logging.getLogger("assist.web.server")

REVOKED: Final[str] = "assist:revoked"
CHANNEL: Final[str] = "assist:revocations"
TICKET_USED: Final[str] = "assist:ticket-used:"
RETRY: Final[float] = 1.0


async def publish_revocation(url: str, token_id: str) -> None:
    """Tell every node that ``token_id`` is revoked (``assist tokens revoke``)."""
    client = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        await client.hset(REVOKED, token_id, str(time.time()))
        await client.publish(CHANNEL, token_id)
    finally:
        await client.aclose()


class SharedAuth:
    """This node's copy of the floor's revocation list, and the floor-wide ticket claim."""

    def __init__(self, url: str, *, ticket_ttl: float) -> None:
        self.url = url
        self.ticket_ttl = ticket_ttl
        self.revoked: set[str] = set()
        self.claims_skipped = 0  # tickets accepted without the shared claim (Redis unavailable)
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        self._client = aioredis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        with contextlib.suppress(RedisError, OSError):
            await self._load(self._client)
        self._task = asyncio.create_task(self._follow(), name="revocations")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 2.0)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._client is not None:
            await self._client.aclose()

    def is_revoked(self, token_id: str | None) -> bool:
        return token_id is not None and token_id in self.revoked

    async def claim_ticket(self, ticket: str) -> bool:
        """True the first time any node sees ``ticket``; False once it has been used on the floor."""
        if self._client is None:
            return True
        key = TICKET_USED + hashlib.sha256(ticket.encode()).hexdigest()
        try:
            fresh = await self._client.set(key, "1", nx=True, px=int(self.ticket_ttl * 1000) + 5000)
        except (RedisError, OSError) as exc:
            self.claims_skipped += 1
            log.warning("ticket claim skipped: Redis unavailable (%s); this node's own check applies",
                        type(exc).__name__)
            return True
        return bool(fresh)

    async def _load(self, client: aioredis.Redis) -> None:
        ids: Any = await client.hkeys(REVOKED)
        self.revoked.update(_text(i) for i in ids)

    async def _follow(self) -> None:
        """Follow the revocation channel; after an outage, reload the hash (what was published meanwhile)."""
        while True:
            client = aioredis.from_url(self.url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await self._load(client)
                    self._listening.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            token_id = _text(message["data"])
                            if token_id not in self.revoked:
                                self.revoked.add(token_id)
                                log.info("token %s revoked on the floor: refused from now on", token_id)
            except (RedisError, OSError) as exc:
                log.debug("revocation channel unavailable (%s)", type(exc).__name__)
            finally:
                await client.aclose()
            await asyncio.sleep(RETRY)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
