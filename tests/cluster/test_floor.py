"""A real cluster with authentication on: what the floor shares through Redis.

* a page that connects late, to any node, sees every node's live calls in its snapshot;
* a ticket opens one socket on the whole floor; a token revoked through Redis is refused by every node;
* the calls of a node killed with ``kill -9`` are marked interrupted by a survivor once its beat stops.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from assist.ops.localcluster import LocalCluster, Node
from assist.web.auth import Role, TokenStore
from tests.support.services import running_cluster, skip_without_cluster_services

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

NODE_TIMEOUT = 3.0
SAMPLE = Path(__file__).resolve().parents[2] / "assist" / "training" / "samples" / "noise-complaint.jsonl"


@dataclass(frozen=True)
class Tokens:
    agent: str
    supervisor: str
    spare_supervisor: str
    spare_id: str


@pytest.fixture(scope="module")
def floor() -> Iterator[tuple[LocalCluster, Tokens]]:
    skip_without_cluster_services()
    root = Path(tempfile.mkdtemp(prefix="assist-floor-"))
    path = root / "tokens.toml"
    store = TokenStore(path=path)
    agent, _ = store.issue(Role.AGENT, "a-floor", None)
    supervisor, _ = store.issue(Role.SUPERVISOR, "班长王", None)
    spare, spare_record = store.issue(Role.SUPERVISOR, "班长李", None)
    store.save()
    extra_args = ("--auth", "on", "--tokens", str(path), "--node-timeout", str(NODE_TIMEOUT))
    with running_cluster(root, drain_seconds=5.0, extra_args=extra_args) as c:
        yield c, Tokens(agent, supervisor, spare, spare_record.id)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def recv_json(ws: ClientConnection, wait: float = 10.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
    return msg


async def snapshot(node: Node, token: str) -> dict[str, Any]:
    async with connect(node.url + "/ws/subscribe", additional_headers=bearer(token)) as ws:
        await ws.send(json.dumps({"type": "subscribe", "all": True}))
        return await recv_json(ws)


async def open_call(node: Node, token: str, call_id: str) -> ClientConnection:
    """A real-time transcript call (about 33 s): it stays live while the test looks at the floor."""
    ws = await connect(node.url + "/ws/call", additional_headers=bearer(token))
    await ws.send(json.dumps({"type": "start", "call_id": call_id, "agent_id": "a-floor", "sample_rate": 16000,
                              "channels": 2, "roles": ["agent", "caller"], "source": "transcript", "speed": 1}))
    for raw in SAMPLE.read_text(encoding="utf-8").splitlines():
        await ws.send(json.dumps({"type": "line", **json.loads(raw)}))
    assert (await recv_json(ws))["type"] == "ready"
    return ws


async def until(check: Any, wait: float) -> Any:
    """``await check()`` until it returns something true, for up to ``wait`` s."""
    async with asyncio.timeout(wait):
        while not (value := await check()):  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.2)
    return value


async def test_late_page_on_any_node_sees_every_nodes_live_calls(floor: tuple[LocalCluster, Tokens]) -> None:
    cluster, tokens = floor
    n1, n2, n3 = cluster.members
    ids = {f"fl-1-{time.time_ns()}": n1, f"fl-2-{time.time_ns()}": n2}
    calls = [await open_call(node, tokens.agent, cid) for cid, node in ids.items()]
    try:
        for page_node in (n3, n1):  # no call on node3; node1 holds one and must show node2's too

            async def both(node: Node = page_node) -> bool:
                snap = await snapshot(node, tokens.supervisor)
                return set(ids) <= {c["call_id"] for c in snap["calls"]}

            await until(both, 3.0)  # within a beat (1 s)
        snap = await snapshot(n3, tokens.supervisor)
        states = {c["call_id"]: c for c in snap["calls"] if c["call_id"] in ids}
        assert {s["agent_id"] for s in states.values()} == {"a-floor"} and all(s["active"] for s in states.values())
    finally:
        for ws in calls:
            await ws.send(json.dumps({"type": "end"}))
            await ws.close()


def post_ticket(node: Node, token: str) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{node.port}/api/ticket", data=b"", method="POST",
                                     headers=bearer(token))
    with urllib.request.urlopen(request, timeout=5) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return str(body["ticket"])


async def refused(url: str, headers: dict[str, str] | None = None) -> int | None:
    """The HTTP status a websocket upgrade was refused with; None if it opened."""
    try:
        async with connect(url, additional_headers=headers or {}):
            return None
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_a_ticket_opens_one_socket_on_the_whole_floor(floor: tuple[LocalCluster, Tokens]) -> None:
    cluster, tokens = floor
    n1, n2, n3 = cluster.members
    ticket = await asyncio.to_thread(post_ticket, n1, tokens.supervisor)
    assert await refused(f"{n2.url}/ws/subscribe?ticket={ticket}") is None  # first use, on another node
    assert await refused(f"{n3.url}/ws/subscribe?ticket={ticket}") == 401  # used: refused on a third node
    assert await refused(f"{n2.url}/ws/subscribe?ticket={ticket}") == 401


async def test_a_token_revoked_through_redis_is_refused_by_every_node(floor: tuple[LocalCluster, Tokens]) -> None:
    from assist.web.shared_auth import publish_revocation

    cluster, tokens = floor
    for node in cluster.members:
        assert await refused(node.url + "/ws/subscribe", bearer(tokens.spare_supervisor)) is None
    ticket = await asyncio.to_thread(post_ticket, cluster.members[0], tokens.spare_supervisor)
    # the token file is untouched: only the floor's revocation list knows
    await publish_revocation(cluster.redis.url, tokens.spare_id)
    began = time.monotonic()
    for node in cluster.members:
        async def gone(node: Node = node) -> bool:
            return await refused(node.url + "/ws/subscribe", bearer(tokens.spare_supervisor)) == 401

        await until(gone, 1.0)
    assert time.monotonic() - began < 1.0
    assert await refused(f"{cluster.members[1].url}/ws/subscribe?ticket={ticket}") == 401  # its tickets too
    assert await refused(cluster.members[2].url + "/ws/subscribe", bearer(tokens.supervisor)) is None


async def test_calls_of_a_killed_node_are_marked_interrupted_by_a_survivor(floor: tuple[LocalCluster, Tokens]) -> None:
    from assist.store.postgres import PostgresStore

    cluster, tokens = floor
    n1, n2, _ = cluster.members
    sup = await connect(n1.url + "/ws/subscribe", additional_headers=bearer(tokens.supervisor))
    await sup.send(json.dumps({"type": "subscribe", "all": True}))
    assert (await recv_json(sup))["type"] == "subscribed"
    lost_id, kept_id = f"dead-{time.time_ns()}", f"kept-{time.time_ns()}"
    lost = await open_call(n2, tokens.agent, lost_id)
    kept = await open_call(n1, tokens.agent, kept_id)
    await asyncio.sleep(1.5)  # a beat has listed the calls
    killed_at = time.monotonic()
    await asyncio.to_thread(cluster.kill_node, n2)
    store = await PostgresStore.open(cluster.postgres.url, readonly=True)
    try:
        async def reason_of_lost() -> str | None:
            reason: str | None = (await store.get_call(lost_id))["call"]["end_reason"]
            return reason

        assert await until(reason_of_lost, NODE_TIMEOUT + 6) == "interrupted"
        swept_after = time.monotonic() - killed_at
        assert swept_after >= NODE_TIMEOUT - 1.5  # not before its beat had expired
        ended = []
        async with asyncio.timeout(5):
            while not ended:
                ev = await recv_json(sup)
                if ev["type"] == "call_ended" and ev["call_id"] == lost_id:
                    ended.append(ev)
        assert ended[0]["summary"]["reason"] == "interrupted"
        assert (await store.get_call(kept_id))["call"]["end_reason"] is None  # a live node's call is left alone
        snap = await snapshot(n1, tokens.supervisor)
        assert lost_id not in {c["call_id"] for c in snap["calls"]} and kept_id in {c["call_id"] for c in snap["calls"]}
    finally:
        await store.close()
        await kept.send(json.dumps({"type": "end"}))
        await kept.close()
        await lost.close()
        await sup.close()
        await asyncio.to_thread(cluster.start_node, n2)
