"""Bounded event queues and the hub: what a slow consumer loses, and that nobody else waits."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from assist.live.hub import EventQueue, Hub, matcher_for
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import Alert, CallStarted, Error, Event, Subscribe, Transcript


def partial(utt: str, text: str, call: str = "c") -> Transcript:
    return Transcript(call_id=call, role="caller", utterance_id=utt, final=False, text=text, start=0.0, end=1.0)


def final(utt: str, text: str, call: str = "c") -> Transcript:
    return Transcript(call_id=call, role="caller", utterance_id=utt, final=True, text=text, start=0.0, end=1.0)


def drain(queue: EventQueue) -> list[Event]:
    out = []
    while (event := queue.get_nowait()) is not None:
        out.append(event)
    return out


def test_newer_partial_replaces_a_queued_one_of_the_same_utterance() -> None:
    q = EventQueue(10)
    q.put(partial("u0", "a"))
    q.put(final("u1", "x"))
    q.put(partial("u0", "a b"))
    q.put(partial("u0", "a b", call="other"))  # same utterance id, other call: kept apart
    assert drain(q) == [partial("u0", "a b"), final("u1", "x"), partial("u0", "a b", call="other")]
    assert q.coalesced == 1 and q.dropped == 0


def test_full_queue_drops_partials_before_anything_else() -> None:
    q = EventQueue(3)
    q.put(partial("u0", "a"))
    q.put(final("u1", "x"))
    q.put(final("u2", "y"))
    q.put(final("u3", "z"))  # evicts the partial
    assert q.dropped_partials == 1 and q.dropped_events == 0
    q.put(partial("u4", "p"))  # no room and nothing less important: the new partial is dropped
    assert q.dropped_partials == 2
    q.put(final("u5", "w"))  # only finals queued: the oldest goes
    assert q.dropped_events == 1
    assert drain(q) == [final("u2", "y"), final("u3", "z"), final("u5", "w")]


def test_full_queue_keeps_alerts_over_transcripts() -> None:
    alert = Alert("al-1", "c1", "a", "critical", "critical", "危机信号", 1.0, "u0", 1000.0)
    q = EventQueue(3)
    q.put(alert)
    q.put(final("u1", "x"))
    q.put(final("u2", "y"))
    q.put(final("u3", "z"))  # the oldest event that is not an alert goes, not the older alert
    assert q.dropped_events == 1
    assert drain(q) == [alert, final("u2", "y"), final("u3", "z")]
    full_of_alerts = EventQueue(1)
    full_of_alerts.put(alert)
    later = dataclasses.replace(alert, alert_id="al-2")
    full_of_alerts.put(later)  # only alerts queued: the oldest alert goes
    assert drain(full_of_alerts) == [later] and full_of_alerts.dropped_events == 1


async def test_get_waits_and_close_ends_the_stream() -> None:
    q = EventQueue(2)
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.put(final("u0", "x"))
    assert await asyncio.wait_for(waiter, 1) == final("u0", "x")
    q.put(final("u1", "y"))
    q.close()
    q.put(final("u2", "z"))  # ignored once closed
    assert await q.get() == final("u1", "y")
    assert await q.get() is None


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EventQueue(0)


def test_publish_never_blocks_and_counts_drops_per_subscriber() -> None:
    hub = Hub(max_subscribers=5, queue_size=2)
    slow = hub.subscribe()
    picky = hub.subscribe(matcher_for(Subscribe(call_id="c2")))
    for i in range(5):
        hub.publish(final(f"u{i}", "x"), call_id="c1", agent_id="a")
    hub.publish(final("v", "y", call="c2"), call_id="c2", agent_id="a")
    assert len(slow.queue) == 2 and slow.queue.dropped_events == 4
    assert drain(picky.queue) == [final("v", "y", call="c2")]
    stats = hub.stats
    assert (stats.subscribers, stats.published, stats.dropped) == (2, 6, 4)
    slow.close()
    assert len(hub) == 1 and hub.stats.dropped == 4  # drops of a subscriber that left still count


def test_matchers_select_call_agent_or_all() -> None:
    from assist.live.hub import Envelope

    env = Envelope(CallStarted("c1", "a1", 0.0), call_id="c1", agent_id="a1")
    assert matcher_for(Subscribe(call_id="c1"))(env)
    assert not matcher_for(Subscribe(call_id="c2"))(env)
    assert matcher_for(Subscribe(agent_id="a1"))(env)
    assert not matcher_for(Subscribe(agent_id="a2"))(env)
    assert matcher_for(Subscribe(all=True))(Envelope(Error("x", "y")))


def test_subscriber_limit() -> None:
    hub = Hub(max_subscribers=1, queue_size=4)
    hub.subscribe()
    with pytest.raises(ProtocolError) as info:
        hub.subscribe()
    assert info.value.code is ErrorCode.TOO_MANY_SUBSCRIBERS
