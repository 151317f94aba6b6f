"""Publish events to subscribers, each with its own bounded queue and drop counters.

A slow subscriber never slows the publisher or other subscribers: ``publish``
is synchronous and never waits.  When a subscriber's queue is full the
``EventQueue`` policy decides what to lose (partial transcripts first).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import Alert, AlertAcknowledged, Event, Subscribe, Transcript

log = logging.getLogger(__name__)


def _is_partial(event: Event) -> bool:
    return isinstance(event, Transcript) and not event.final


def _is_alert(event: Event) -> bool:
    """Alerts and their acknowledgements are the last things a busy supervisor may lose."""
    return isinstance(event, Alert | AlertAcknowledged)


class EventQueue:
    """Bounded FIFO of events for one consumer; ``put`` never blocks.

    * A partial transcript replaces a still-queued partial of the same
      utterance (it is newer and says everything the old one said): ``coalesced``.
    * When full, the oldest queued partial is dropped to make room
      (``dropped_partials``); if there is none, the oldest event that is not an
      alert is dropped, and only then the oldest alert (``dropped_events``).  A
      partial that arrives when the queue is full of non-partials is itself dropped.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: deque[Event] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.coalesced = 0
        self.dropped_partials = 0
        self.dropped_events = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped(self) -> int:
        return self.dropped_partials + self.dropped_events

    def put(self, event: Event) -> None:
        """Queue ``event``, applying the drop policy; ignored once closed."""
        if self._closed:
            return
        if isinstance(event, Transcript) and not event.final and self._replace_partial(event):
            return
        if len(self._items) >= self.maxsize and not self._make_room(event):
            return
        self._items.append(event)
        self._ready.set()

    def _replace_partial(self, event: Transcript) -> bool:
        for i in range(len(self._items) - 1, -1, -1):
            queued = self._items[i]
            if (
                isinstance(queued, Transcript)
                and not queued.final
                and queued.utterance_id == event.utterance_id
                and queued.call_id == event.call_id
            ):
                self._items[i] = event
                self.coalesced += 1
                return True
        return False

    def _make_room(self, event: Event) -> bool:
        for i, queued in enumerate(self._items):
            if _is_partial(queued):
                del self._items[i]
                self.dropped_partials += 1
                return True
        if _is_partial(event):
            self.dropped_partials += 1
            return False
        self.dropped_events += 1
        for i, queued in enumerate(self._items):
            if not _is_alert(queued):
                del self._items[i]
                return True
        self._items.popleft()
        return True

    def get_nowait(self) -> Event | None:
        """The next event, or None when the queue is empty."""
        if not self._items:
            self._ready.clear()
            return None
        return self._items.popleft()

    async def get(self) -> Event | None:
        """Wait for the next event; None once the queue is closed and empty."""
        while not self._items:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        """No more events are accepted; ``get`` returns what is queued, then None."""
        self._closed = True
        self._ready.set()


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event with the routing keys subscribers filter on."""

    event: Event
    call_id: str | None = None
    agent_id: str | None = None
    mode: str | None = None  # "live" or "training": the mode of the call the event belongs to


Matcher = Callable[[Envelope], bool]


def match_all(envelope: Envelope) -> bool:
    return True


def matcher_for(sub: Subscribe) -> Matcher:
    """The filter for one ``subscribe`` message: one call, one agent's calls, or all."""
    if sub.call_id is not None:
        call_id = sub.call_id
        return lambda env: env.call_id == call_id
    if sub.agent_id is not None:
        agent_id = sub.agent_id
        return lambda env: env.agent_id == agent_id
    return match_all


class Subscriber:
    """One subscription: a filter and a bounded queue.  Iterate with ``await get()``."""

    def __init__(self, hub: Hub, matches: Matcher, queue_size: int, name: str) -> None:
        self._hub = hub
        self.matches = matches
        self.queue = EventQueue(queue_size)
        self.name = name

    async def get(self) -> Event | None:
        """The next event; None after ``close``."""
        return await self.queue.get()

    def offer(self, envelope: Envelope) -> None:
        if self.matches(envelope):
            self.queue.put(envelope.event)

    def close(self) -> None:
        """Unsubscribe; queued events can still be read."""
        self._hub.unsubscribe(self)
        self.queue.close()


@dataclass(frozen=True, slots=True)
class HubStats:
    subscribers: int
    published: int
    dropped: int  # events lost by subscribers so far (including those gone)


class Hub:
    """Fan-out of events to at most ``max_subscribers`` subscribers."""

    def __init__(self, *, max_subscribers: int = 256, queue_size: int = 256) -> None:
        self.max_subscribers = max_subscribers
        self.queue_size = queue_size
        self._subscribers: list[Subscriber] = []
        self._published = 0
        self._dropped_gone = 0
        self._counter = 0

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, matches: Matcher = match_all, *, queue_size: int | None = None) -> Subscriber:
        """Add a subscriber; raises ``ProtocolError(TOO_MANY_SUBSCRIBERS)`` when full."""
        if len(self._subscribers) >= self.max_subscribers:
            raise ProtocolError(
                ErrorCode.TOO_MANY_SUBSCRIBERS,
                f"the server already has {self.max_subscribers} subscribers; try again later",
            )
        self._counter += 1
        sub = Subscriber(self, matches, queue_size or self.queue_size, f"sub-{self._counter}")
        self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            self._dropped_gone += sub.queue.dropped
            if sub.queue.dropped:
                log.info("%s left having dropped %d events", sub.name, sub.queue.dropped)

    def publish(
        self, event: Event, *, call_id: str | None = None, agent_id: str | None = None, mode: str | None = None
    ) -> None:
        """Offer ``event`` to every matching subscriber; never blocks."""
        self._published += 1
        envelope = Envelope(event, call_id, agent_id, mode)
        for sub in tuple(self._subscribers):
            sub.offer(envelope)

    @property
    def stats(self) -> HubStats:
        live = sum(s.queue.dropped for s in self._subscribers)
        return HubStats(len(self._subscribers), self._published, self._dropped_gone + live)
