"""Authentication and authorisation on a real server (127.0.0.1, port 0, scripted recognizer).

Credentials and origins are checked before the websocket upgrade (HTTP 401/403,
no websocket); roles are checked per message (``forbidden``); hub events are
filtered per subscriber principal; browser tickets; /metrics needs a supervisor.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from assist.audio.recognizer import ScriptedFactory
from assist.protocol.errors import CLOSE_POLICY
from assist.settings import ConfigError, ServerConfig
from assist.web.auth import Role, TokenStore
from assist.web.server import AssistServer
from bench.callclient import CallResult, collect
from tests.support.scripted_server import SCRIPT_A, TEXTS_A, pcm, start_msg


@dataclass
class Secured:
    server: AssistServer
    tokens: dict[str, str]  # name -> plaintext token
    store: TokenStore

    @property
    def ws(self) -> str:
        return self.server.url

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    store = TokenStore(path=tmp_path / "tokens.toml")
    tokens: dict[str, str] = {}
    for name, role, subject in (
        ("A1", Role.AGENT, "A1"), ("A2", Role.AGENT, "A2"), ("boss", Role.SUPERVISOR, "wang"),
        ("coach", Role.TRAINER, "li"), ("revoked", Role.AGENT, "A1"),
    ):
        tokens[name], _ = store.issue(role, subject, 3600)
    tokens["expired"], _ = store.issue(Role.SUPERVISOR, "old", 0.001)
    store.revoke(store.records[4].id)  # "revoked"
    store.save()
    config = ServerConfig(
        host="127.0.0.1", port=0, gate=False, decode_threads=2, auth="on",
        allowed_origins=("https://ops.example.gov.cn",),
    )
    server = AssistServer(config, ScriptedFactory((SCRIPT_A,)), tokens=store)
    await server.start()
    await asyncio.sleep(0.01)  # the 1 ms token has expired
    yield Secured(server, tokens, store)
    await server.stop(grace=5)


def _http(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {}, method=method,
                                     data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


async def http(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], str]:
    return await asyncio.to_thread(_http, url, headers, method)


async def refused_status(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, **kwargs):
            pass
    return info.value.response.status_code


async def first_events(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(count)]


async def stream_call(url: str, start: dict[str, Any], audio: bytes, headers: dict[str, str]) -> CallResult:
    """One call with credentials: start, the audio in 100 ms messages, end; every event collected."""
    result = CallResult()
    async with connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps(start))
        reader = asyncio.create_task(collect(ws, result))
        try:
            for i in range(0, len(audio), 3200):
                await ws.send(audio[i : i + 3200])
            await ws.send(json.dumps({"type": "end"}))
        except ConnectionClosed:
            pass
        await asyncio.wait_for(reader, 10)
    return result


# ---------------------------------------------------------------- before the upgrade


async def test_missing_wrong_expired_and_revoked_credentials_are_refused_before_the_upgrade(
    secured: Secured,
) -> None:
    for path in ("/ws/call", "/ws/subscribe"):
        url = secured.ws + path
        assert await refused_status(url) == 401
        assert await refused_status(url, additional_headers={"Authorization": "Bearer assist_" + "x" * 43}) == 401
        assert await refused_status(url, additional_headers={"Authorization": "Basic dXNlcjpwYXNz"}) == 401
        assert await refused_status(url, additional_headers=secured.bearer("expired")) == 401
        assert await refused_status(url, additional_headers=secured.bearer("revoked")) == 401
        assert await refused_status(url + "?ticket=v1.forged.ticket") == 401
    # nothing got as far as a connection handler, and every refusal was counted
    assert not secured.server._connections and len(secured.server.registry) == 0
    status, _, metrics = await http(secured.http + "/metrics", secured.bearer("boss"))
    assert status == 200 and 'assist_auth_failures_total{status="401"} 12.0' in metrics


async def test_refusals_are_plain_http_with_a_json_reason(secured: Secured) -> None:
    status, headers, body = await http(secured.http + "/ws/call")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(body)["error"]["code"] == "unauthorized" and headers["Cache-Control"] == "no-store"


async def test_foreign_origins_are_refused_even_with_a_valid_token(secured: Secured) -> None:
    url = secured.ws + "/ws/subscribe"
    bearer = secured.bearer("boss")
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{secured.server.port + 1}"):
        assert await refused_status(url, origin=Origin(origin), additional_headers=bearer) == 403
    # the server's own pages and the listed origin may connect
    for origin in (f"http://127.0.0.1:{secured.server.port}", "https://ops.example.gov.cn"):
        async with connect(url, origin=Origin(origin), additional_headers=bearer) as ws:
            await ws.send(json.dumps({"type": "subscribe", "all": True}))
            assert (await first_events(ws, 1))[0]["type"] == "subscribed"


async def test_open_endpoints_and_supervisor_endpoints(secured: Secured) -> None:
    assert (await http(secured.http + "/healthz"))[0] == 200
    assert (await http(secured.http + "/"))[0] == 200  # the overlay page carries no data
    for path in ("/metrics", "/stats", "/api/calls"):
        assert (await http(secured.http + path))[0] == 401
        assert (await http(secured.http + path, secured.bearer("A1")))[0] == 403
        assert (await http(secured.http + path, secured.bearer("coach")))[0] == 403
    status, headers, body = await http(secured.http + "/metrics", secured.bearer("boss"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert "assist_calls_active" in body and "process_resident_memory_bytes" in body
    status, _, body = await http(secured.http + "/stats", secured.bearer("boss"))
    assert status == 200 and json.loads(body)["auth"] is True
    # a supervisor's ticket works for the API too (pages cannot set headers on every request)
    ticket = json.loads((await http(secured.http + "/api/ticket", secured.bearer("boss"), "POST"))[2])["ticket"]
    assert (await http(secured.http + f"/metrics?ticket={ticket}"))[0] == 200
    assert (await http(secured.http + f"/metrics?ticket={ticket}"))[0] == 200  # not consumed by plain GETs


# ---------------------------------------------------------------- per message


async def test_agents_stream_only_their_own_live_calls(secured: Secured) -> None:
    url = secured.ws + "/ws/call"
    own = await stream_call(url, start_msg("own", agent_id="A1"), pcm(), secured.bearer("A1"))
    assert own.final_texts() == TEXTS_A and not own.errors
    cases = [
        ("A1", start_msg("other", agent_id="A2")),  # as another agent
        ("A1", start_msg("train", agent_id="A1", mode="training")),  # a replay
        ("coach", start_msg("live-by-trainer", agent_id="A1")),  # a trainer, live
        ("boss", start_msg("by-supervisor", agent_id="A1")),  # supervisors watch, they do not stream
    ]
    for name, start in cases:
        result = await stream_call(url, start, pcm(0.5), secured.bearer(name))
        assert [e["code"] for e in result.errors] == ["forbidden"], (name, start)
        assert result.close_code == CLOSE_POLICY and result.ready is None
    trained = await stream_call(url, start_msg("replay", agent_id="A7", mode="training"), pcm(),
                                secured.bearer("coach"))
    assert trained.final_texts() == TEXTS_A
    # text replays faster than real time: trainers in training mode only
    fast = {"source": "transcript", "speed": 0, "agent_id": "A1"}
    hurried = await stream_call(url, start_msg("hurry", **fast), b"", secured.bearer("A1"))
    assert [e["code"] for e in hurried.errors] == ["rate_limited"] and hurried.ready is None
    coached = await stream_call(url, start_msg("coached", **fast, mode="training"), b"", secured.bearer("coach"))
    assert coached.ready is not None and not coached.errors


async def test_agent_cannot_watch_another_agents_call(secured: Secured) -> None:
    url = secured.ws + "/ws/subscribe"
    call = await connect(secured.ws + "/ws/call", additional_headers=secured.bearer("A1"))
    await call.send(json.dumps(start_msg("c-a1", agent_id="A1")))
    assert (await first_events(call, 1))[0]["type"] == "ready"
    for subscription in ({"call_id": "c-a1"}, {"agent_id": "A1"}, {"all": True}):
        async with connect(url, additional_headers=secured.bearer("A2")) as ws:
            await ws.send(json.dumps({"type": "subscribe", **subscription}))
            result = CallResult()
            await asyncio.wait_for(collect(ws, result), 5)
        assert [e["code"] for e in result.errors] == ["forbidden"], subscription
        assert result.close_code == CLOSE_POLICY
        assert not result.of_type("subscribed") and not result.transcripts()
    await call.close()


async def test_events_are_filtered_per_principal(secured: Secured) -> None:
    sub = secured.ws + "/ws/subscribe"
    own = await connect(sub, additional_headers=secured.bearer("A1"))
    await own.send(json.dumps({"type": "subscribe", "agent_id": "A1"}))
    boss = await connect(sub, additional_headers=secured.bearer("boss"))
    await boss.send(json.dumps({"type": "subscribe", "all": True}))
    coach = await connect(sub, additional_headers=secured.bearer("coach"))
    await coach.send(json.dumps({"type": "subscribe", "agent_id": "A1"}))  # a trainer: replays only
    for ws in (own, boss, coach):
        assert (await first_events(ws, 1))[0]["type"] == "subscribed"
    url = secured.ws + "/ws/call"
    await stream_call(url, start_msg("live-1", agent_id="A1"), pcm(), secured.bearer("A1"))
    await stream_call(url, start_msg("live-2", agent_id="A2"), pcm(), secured.bearer("A2"))
    await stream_call(url, start_msg("replay-1", agent_id="A1", mode="training"), pcm(),
                      secured.bearer("coach"))

    async def calls_seen(ws: ClientConnection, until: str, last: str | None = None) -> set[str]:
        """Calls seen until ``until`` ends (or, for a view that must not see it, ``last`` ends and 1 s passes)."""
        seen: set[str] = set()
        quiet_after: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            wait = 5.0 if quiet_after is None else quiet_after - loop.time()
            try:
                event = json.loads(await asyncio.wait_for(ws.recv(), max(wait, 0.01)))
            except TimeoutError:
                if quiet_after is None:
                    raise
                return seen
            if "call_id" in event:
                seen.add(event["call_id"])
            if event["type"] == "call_ended" and event["call_id"] == until:
                return seen
            if event["type"] == "call_ended" and event["call_id"] == last:
                quiet_after = loop.time() + 1.0

    assert await calls_seen(boss, "replay-1") == {"live-1", "live-2", "replay-1"}
    assert await calls_seen(coach, "replay-1") == {"replay-1"}  # no live call reaches a trainer
    # A1's live calls only: never A2's, and never a training replay that borrows A1's agent id
    assert await calls_seen(own, "replay-1", "live-1") == {"live-1"}
    for ws in (own, boss, coach):
        await ws.close()


async def test_only_supervisors_acknowledge(secured: Secured) -> None:
    async with connect(secured.ws + "/ws/subscribe", additional_headers=secured.bearer("A1")) as ws:
        await ws.send(json.dumps({"type": "subscribe", "agent_id": "A1"}))
        assert (await first_events(ws, 1))[0]["type"] == "subscribed"
        await ws.send(json.dumps({"type": "ack", "alert_id": "x"}))
        error = (await first_events(ws, 1))[0]
        assert error["type"] == "error" and error["code"] == "forbidden" and not error["fatal"]
    async with connect(secured.ws + "/ws/subscribe", additional_headers=secured.bearer("boss")) as ws:
        await ws.send(json.dumps({"type": "subscribe", "all": True}))
        assert (await first_events(ws, 1))[0]["type"] == "subscribed"
        await ws.send(json.dumps({"type": "ack", "alert_id": "x"}))
        assert (await first_events(ws, 1))[0]["code"] == "not_found"  # allowed; there is no such alert


# ---------------------------------------------------------------- browser tickets


async def test_ticket_flow_with_renewal(secured: Secured) -> None:
    assert (await http(secured.http + "/api/ticket", method="POST"))[0] == 401
    assert (await http(secured.http + "/api/ticket", secured.bearer("A1")))[0] == 405
    assert (await http(secured.http + "/api/ticket", secured.bearer("expired"), "POST"))[0] == 401
    status, headers, body = await http(secured.http + "/api/ticket", secured.bearer("A1"), "POST")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    answer = json.loads(body)
    assert answer["role"] == "agent" and answer["subject"] == "A1" and answer["expires_in"] == 60
    ticket = answer["ticket"]
    # a ticket cannot buy another ticket
    assert (await http(secured.http + "/api/ticket", {"Authorization": f"Bearer {ticket}"}, "POST"))[0] == 401
    url = secured.ws + "/ws/subscribe"
    origin = Origin(f"http://127.0.0.1:{secured.server.port}")  # a page of the server itself
    async with connect(f"{url}?ticket={ticket}", origin=origin) as ws:
        await ws.send(json.dumps({"type": "subscribe", "agent_id": "A1"}))
        subscribed, renewed = await first_events(ws, 2)
        assert subscribed["type"] == "subscribed" and renewed["type"] == "ticket"
        assert renewed["ticket"] != ticket and renewed["expires_in"] == 60
    assert await refused_status(f"{url}?ticket={ticket}", origin=origin) == 401  # single use
    async with connect(f"{url}?ticket={renewed['ticket']}", origin=origin) as ws:  # the page reconnects
        await ws.send(json.dumps({"type": "subscribe", "agent_id": "A1"}))
        events = await first_events(ws, 2)
        assert [e["type"] for e in events] == ["subscribed", "ticket"]
        renewed = events[1]
    # the ticket carries the agent's principal: it may not watch another agent
    async with connect(f"{url}?ticket={renewed['ticket']}", origin=origin) as ws:
        await ws.send(json.dumps({"type": "subscribe", "agent_id": "A2"}))
        assert (await first_events(ws, 1))[0]["code"] == "forbidden"


async def test_revoking_a_token_closes_its_pages(tmp_path: Path) -> None:
    store = TokenStore(path=tmp_path / "tokens.toml")
    token, record = store.issue(Role.AGENT, "A2", 3600)
    store.save()
    config = ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=1, auth="on", ticket_ttl=5)
    server = AssistServer(config, ScriptedFactory((SCRIPT_A,)), tokens=store)
    await server.start()
    try:
        status, _, body = await http(f"http://127.0.0.1:{server.port}/api/ticket",
                                     {"Authorization": f"Bearer {token}"}, "POST")
        assert status == 200
        ws = await connect(f"{server.url}/ws/subscribe?ticket={json.loads(body)['ticket']}")
        await ws.send(json.dumps({"type": "subscribe", "agent_id": "A2"}))
        assert [e["type"] for e in await first_events(ws, 2)] == ["subscribed", "ticket"]
        store.revoke(record.id)
        store.save()
        result = CallResult()
        await asyncio.wait_for(collect(ws, result), 10)  # at the next renewal (half of 5 s)
        assert [e["code"] for e in result.errors] == ["unauthorized"] and result.close_code == CLOSE_POLICY
        assert not result.of_type("ticket")
    finally:
        await server.stop(grace=5)


# ---------------------------------------------------------------- configuration


def test_open_server_only_on_loopback(tmp_path: Path) -> None:
    factory = ScriptedFactory((SCRIPT_A,))
    empty = TokenStore(path=tmp_path / "none.toml")
    assert not AssistServer(ServerConfig(host="127.0.0.1", port=0), factory, tokens=empty).access.enabled
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(ConfigError, match="insecure-no-auth"):
            AssistServer(ServerConfig(host=host, port=0), factory, tokens=empty)
        with pytest.raises(ConfigError, match="auth is off"):
            AssistServer(ServerConfig(host=host, port=0, auth="off"), factory, tokens=empty)
        server = AssistServer(ServerConfig(host=host, port=0, insecure_no_auth=True), factory, tokens=empty)
        assert not server.access.enabled and "NOT loopback" in (server.access.warning() or "")
    filled = TokenStore(path=tmp_path / "some.toml")
    filled.issue(Role.AGENT, "A1", None)
    assert AssistServer(ServerConfig(host="0.0.0.0", port=0), factory, tokens=filled).access.enabled
    off = AssistServer(ServerConfig(host="127.0.0.1", port=0, auth="off"), factory, tokens=filled)
    assert not off.access.enabled and "AUTHENTICATION IS OFF" in (off.access.warning() or "")
    on_empty = AssistServer(ServerConfig(host="127.0.0.1", port=0, auth="on"), factory, tokens=empty)
    assert on_empty.access.enabled and "no tokens" in (on_empty.access.warning() or "")


async def test_open_loopback_server_still_checks_credentials_that_are_given() -> None:
    server = AssistServer(ServerConfig(host="127.0.0.1", port=0, gate=False), ScriptedFactory((SCRIPT_A,)))
    await server.start()
    try:
        result = await stream_call(server.url + "/ws/call", start_msg("anon"), pcm(), {})
        assert result.final_texts() == TEXTS_A  # no credentials: the anonymous development client
        assert await refused_status(server.url + "/ws/call",
                                    additional_headers={"Authorization": "Bearer wrong"}) == 401
        assert await refused_status(server.url + "/ws/call", origin=Origin("http://evil.example")) == 403
    finally:
        await server.stop(grace=5)


async def test_pages_send_their_ticket_with_history_requests(tmp_path: Path) -> None:
    """The history page adds ?ticket= to every API request; the API must accept it beside its own parameters."""
    from assist.live.pipeline import AssistPipeline
    from assist.store.db import Store
    from assist.store.privacy import Redactor

    tokens = TokenStore(path=tmp_path / "tokens.toml")
    boss, _ = tokens.issue(Role.SUPERVISOR, "wang", 3600)
    tokens.save()
    db = await Store.open(tmp_path / "calls.sqlite3")
    await db.start_call("c-hist", "A1", 1.0)
    await db.add_utterance("c-hist", "caller", "caller-0", "我想问公积金怎么提取", 0.0, 2.0)
    pipeline = AssistPipeline(analyzer=None, redactor=Redactor(), store=db)
    server = AssistServer(ServerConfig(host="127.0.0.1", port=0, auth="on"), ScriptedFactory((SCRIPT_A,)),
                          tokens=tokens, pipeline=pipeline)
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        answer = await http(base + "/api/ticket", {"Authorization": f"Bearer {boss}"}, "POST")
        ticket = json.loads(answer[2])["ticket"]
        status, _, body = await http(base + f"/api/calls?search=%E5%85%AC%E7%A7%AF%E9%87%91&ticket={ticket}")
        assert status == 200 and [c["call_id"] for c in json.loads(body)["calls"]] == ["c-hist"]
        assert (await http(base + "/api/calls?search=x"))[0] == 401
    finally:
        await server.stop(grace=5)
        await db.close()
