"""A real cluster on 127.0.0.1: PostgreSQL, Redis, HAProxy and three ``assist serve --no-model`` nodes.

Started once for this module (about 5 s) and stopped afterwards; skipped with the reason when
a Debian package is missing (.ci/run installs postgresql, redis-server and haproxy).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from assist.ops.localcluster import LocalCluster
from assist.store.postgres import PostgresStore
from tests.support.samples import NOISE, sample_lines

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

async def recv_json(ws: ClientConnection, wait: float = 10.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
    return msg


async def subscribe(url: str) -> ClientConnection:
    ws = await connect(url + "/ws/subscribe")
    await ws.send(json.dumps({"type": "subscribe", "all": True}))
    assert (await recv_json(ws))["type"] == "subscribed"
    return ws


async def stream_call(url: str, call_id: str, agent: str, speed: float = 0) -> list[dict[str, Any]]:
    """A transcript-source call; every event its socket got, up to ``ended``."""
    events: list[dict[str, Any]] = []
    async with connect(url + "/ws/call") as ws:
        await ws.send(json.dumps({"type": "start", "call_id": call_id, "agent_id": agent, "sample_rate": 16000,
                                  "channels": 2, "roles": ["agent", "caller"], "source": "transcript",
                                  "speed": speed}))
        for line in sample_lines(NOISE.name):
            await ws.send(json.dumps({"type": "line", **line}))
        await ws.send(json.dumps({"type": "end"}))
        while True:
            ev = await recv_json(ws, 60)
            events.append(ev)
            if ev["type"] == "ended":
                return events


async def collect(ws: ClientConnection, done: Any, wait: float = 20.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(wait):
        while not done(out):
            out.append(await recv_json(ws, wait))
    return out


def finals_by_call(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in events:
        if e["type"] == "transcript" and e["final"]:
            out.setdefault(e["call_id"], []).append(e["utterance_id"])
    return out


async def test_supervisor_through_haproxy_sees_every_node_and_acks_cross_nodes(cluster: LocalCluster) -> None:
    sup = await subscribe(cluster.url)  # through HAProxy: whichever node it lands on
    other_sup = await subscribe(cluster.members[2].url)
    calls = {f"x-{n.name}-{time.time_ns()}": n for n in cluster.members}
    results = await asyncio.gather(*(stream_call(n.url, cid, f"a-{n.name}") for cid, n in calls.items()))
    for events in results:
        assert events[-1]["summary"]["reason"] == "completed"
    ended: set[str] = set()

    def all_ended(seen: list[dict[str, Any]]) -> bool:
        ended.update(e["call_id"] for e in seen[-1:] if e["type"] == "call_ended")
        return ended >= set(calls)

    seen = await collect(sup, all_ended)
    expected = {cid: [e["utterance_id"] for e in ev if e["type"] == "transcript" and e["final"]]
                for cid, ev in zip(calls, results, strict=True)}
    assert {cid: ids for cid, ids in finals_by_call(seen).items() if cid in calls} == expected  # in order per call
    alerts = [e for e in seen if e["type"] == "alert" and e["call_id"] in calls]
    assert {a["call_id"] for a in alerts} == set(calls)  # alerts of calls on all three nodes
    # an acknowledgement made on node3 of an alert from a call on node1 reaches the first supervisor
    target = next(a for a in alerts if calls[a["call_id"]] is cluster.members[0])
    ack = {"type": "ack", "alert_id": target["alert_id"], "by": "班长王", "note": "已介入通话"}
    await other_sup.send(json.dumps(ack))
    acks = await collect(sup, lambda s: any(e["type"] == "alert_ack" for e in s[-1:]))
    assert acks[-1]["alert_id"] == target["alert_id"] and acks[-1]["by"] == "班长王"
    assert acks[-1]["note"] == "已介入通话"  # the note crosses nodes with the acknowledgement
    store = await PostgresStore.open(cluster.postgres.url, readonly=True)
    try:
        stored = await store.list_alerts(call_id=target["call_id"], limit=100)
        assert [(a["acknowledged_by"], a["ack_note"]) for a in stored if a["alert_id"] == target["alert_id"]] == [
            ("班长王", "已介入通话")]
        for cid, ids in expected.items():
            assert sorted(u["utterance_id"] for u in await store.utterances(cid)) == sorted(ids)
    finally:
        await store.close()
    for ws in (sup, other_sup):
        await ws.close()


async def test_redis_outage_calls_go_on_and_pages_get_the_gap(cluster: LocalCluster) -> None:
    sup = await subscribe(cluster.members[1].url)
    await asyncio.to_thread(cluster.redis.stop)
    began = time.monotonic()
    call_id = f"r-{time.time_ns()}"
    events = await stream_call(cluster.members[0].url, call_id, "a-r")  # a call on another node goes on
    assert events[-1]["summary"]["reason"] == "completed"
    gap = await collect(sup, lambda s: any(e["type"] == "stream_gap" for e in s[-1:]))
    assert gap[-1]["state"] == "open"
    await asyncio.sleep(max(0.0, 10.0 - (time.monotonic() - began)))
    await asyncio.to_thread(cluster.redis.start)  # same port, empty (no persistence)
    seen = await collect(sup, lambda s: any(e["type"] == "call_ended" and e["call_id"] == call_id for e in s[-1:]),
                         wait=30)
    closed = [e for e in seen if e["type"] == "stream_gap"]
    assert closed and closed[-1]["state"] == "closed" and closed[-1]["seconds"] >= 5
    # the buffered events of the call arrive after the outage, in order
    assert finals_by_call(seen).get(call_id) == [
        e["utterance_id"] for e in events if e["type"] == "transcript" and e["final"]
    ]
    store = await PostgresStore.open(cluster.postgres.url, readonly=True)
    try:
        assert len(await store.utterances(call_id)) == len(sample_lines(NOISE.name))
    finally:
        await store.close()
    await sup.close()


async def test_rolling_restart_while_four_calls_stream(cluster: LocalCluster) -> None:
    call_ids = [f"roll-{i}-{time.time_ns()}" for i in range(4)]
    # real time (about 33 s of call each) through HAProxy, while each node in turn drains and restarts
    calls = [asyncio.create_task(stream_call(cluster.url, cid, f"a-roll-{i}", speed=2))
             for i, cid in enumerate(call_ids)]
    await asyncio.sleep(1.0)
    for node in cluster.members:
        code = await asyncio.to_thread(cluster.stop_node, node)
        assert code == 0
        await asyncio.to_thread(cluster.start_node, node)
    results = await asyncio.gather(*calls)
    for events in results:
        assert not [e for e in events if e["type"] == "error"]
        assert events[-1]["summary"]["reason"] == "completed"
