"""A real cluster losing a node or its database: ``kill -9`` of a node during two calls, PostgreSQL restarted.

Transcript-source calls resume like audio calls: the client reconnects through HAProxy with
``resume_from`` (the start of the first line whose final it has not seen) and sends those lines
again; the node it reaches reads where the call stopped from PostgreSQL, drops the lines whose
finals are stored and numbers the rest after them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from assist.ops.localcluster import LocalCluster
from assist.store.postgres import PostgresStore
from assist.store.privacy import Redactor
from tests.support.samples import NOISE, sample_lines

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

@dataclass
class ResumingCall:
    """A transcript call that resumes through ``resume_url`` whenever its socket is cut."""

    call_id: str
    agent: str
    speed: float
    events: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    resumed: list[bool] = field(default_factory=list)

    def pending(self, sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The lines whose final this client has not seen (by role and end time)."""
        seen = {(e["role"], round(e["end"], 3)) for e in self.events if e["type"] == "transcript" and e["final"]}
        return [x for x in sent if (x["role"], round(x["end"], 3)) not in seen]

    async def run(self, first_url: str, resume_url: str, deadline: float = 90.0) -> None:
        todo = sample_lines(NOISE.name)
        resume_from: float | None = None
        url = first_url
        async with asyncio.timeout(deadline):
            while True:
                try:
                    if await self._connect(url, todo, resume_from):
                        return
                except (ConnectionClosed, OSError, InvalidHandshake, InvalidStatus):
                    pass
                todo = self.pending(todo)
                resume_from = min((x["start"] for x in todo), default=0.0)
                url = resume_url
                await asyncio.sleep(0.2)

    async def _connect(self, url: str, todo: list[dict[str, Any]], resume_from: float | None) -> bool:
        async with connect(url + "/ws/call", open_timeout=5) as ws:
            self.connections += 1
            start: dict[str, Any] = {"type": "start", "call_id": self.call_id, "agent_id": self.agent,
                                     "sample_rate": 16000, "channels": 2, "roles": ["agent", "caller"],
                                     "source": "transcript", "speed": self.speed}
            if resume_from is not None:
                start["resume_from"] = resume_from
            await ws.send(json.dumps(start))
            for line in todo:
                await ws.send(json.dumps({"type": "line", **line}))
            await ws.send(json.dumps({"type": "end"}))
            async for raw in ws:
                ev = json.loads(raw)
                if ev["type"] == "ready":
                    self.resumed.append(bool(ev["resumed"]))
                self.events.append(ev)
                if ev["type"] == "ended":
                    return True
        return False


def expected_ids() -> list[tuple[str, str, float]]:
    counts: dict[str, int] = {}
    out = []
    for x in sample_lines(NOISE.name):
        n = counts.get(x["role"], 0)
        counts[x["role"]] = n + 1
        out.append((f"{x['role']}-{n}", x["role"], float(x["start"])))
    return out


async def stored(cluster: LocalCluster, call_id: str) -> tuple[list[dict[str, Any]], str | None]:
    store = await PostgresStore.open(cluster.postgres.url, readonly=True)
    try:
        data = await store.get_call(call_id)
        return list(data["utterances"]), data["call"]["end_reason"]
    finally:
        await store.close()


def assert_every_final_once(utterances: list[dict[str, Any]]) -> None:
    """The stored finals are the sample's lines, once each, in order, with ids continuing per role."""
    got = sorted(((u["utterance_id"], u["role"], float(u["start"])) for u in utterances), key=lambda t: t[2])
    assert got == expected_ids()
    texts = [u["text"].replace(" ", "") for u in sorted(utterances, key=lambda u: float(u["start"]))]
    masked = Redactor()  # the store keeps masked text only
    assert texts == [masked.mask_text(x["text"]).replace(" ", "") for x in sample_lines(NOISE.name)]


async def test_kill_9_during_two_calls_they_resume_on_other_nodes(cluster: LocalCluster) -> None:
    victim = cluster.members[0]
    calls = [ResumingCall(f"k9-{i}-{time.time_ns()}", f"a-k9-{i}", speed=2) for i in range(2)]
    # both calls start on the victim; every reconnection goes through HAProxy
    tasks = [asyncio.create_task(c.run(victim.url, cluster.url)) for c in calls]
    async with asyncio.timeout(20):
        while not all(sum(e["type"] == "transcript" and e["final"] for e in c.events) >= 2 for c in calls):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await asyncio.to_thread(cluster.kill_node, victim)
    try:
        await asyncio.gather(*tasks)
    finally:
        await asyncio.to_thread(cluster.start_node, victim)
    for call in calls:
        assert call.connections >= 2 and call.resumed[0] is False and call.resumed[-1] is True
        assert call.events[-1]["summary"]["reason"] == "completed"
        assert not [e for e in call.events if e["type"] == "error"]
        # the client saw no final twice (none re-sent as a new utterance)
        finals = [e["utterance_id"] for e in call.events if e["type"] == "transcript" and e["final"]]
        assert len(finals) == len(set(finals))
        utterances, reason = await stored(cluster, call.call_id)
        assert reason == "completed"
        assert_every_final_once(utterances)


async def test_postgres_restarted_while_calls_stream_no_final_lost(cluster: LocalCluster) -> None:
    calls = [ResumingCall(f"pg-{i}-{time.time_ns()}", f"a-pg-{i}", speed=3) for i in range(2)]
    tasks = [asyncio.create_task(c.run(cluster.url, cluster.url)) for c in calls]
    await asyncio.sleep(2.0)
    began = time.monotonic()
    await asyncio.to_thread(cluster.postgres.stop)
    await asyncio.sleep(3.0)  # finals keep coming while the database is away
    await asyncio.to_thread(cluster.postgres.start)
    assert time.monotonic() - began >= 3.0
    await asyncio.gather(*tasks)
    for call in calls:
        assert call.connections == 1  # the calls never noticed
        assert call.events[-1]["summary"]["reason"] == "completed"
        finals = [e for e in call.events if e["type"] == "transcript" and e["final"]]
        assert len(finals) == len(sample_lines(NOISE.name))
    async with asyncio.timeout(15):  # writes queued during the outage commit once it is back
        while True:
            try:
                done = [await stored(cluster, c.call_id) for c in calls]
            except OSError:
                done = []
            if done and all(len(u) == len(sample_lines(NOISE.name)) and r == "completed" for u, r in done):
                break
            await asyncio.sleep(0.3)
    for utterances, _ in done:
        assert_every_final_once(utterances)
