"""The auth and keepalive building blocks on a real websockets server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request, Response

from assist.web.auth import AuthFailure, AuthPolicy, Role, TicketSigner, TokenStore, authenticate_request
from assist.web.limits import keepalive_kwargs


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(path=tmp_path / "tokens.toml")


async def test_process_request_authenticates_upgrades(store: TokenStore) -> None:
    signer = TicketSigner.generate()
    policy = AuthPolicy()
    token, _ = store.issue(Role.AGENT, "A1", None)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        result = authenticate_request(request.path, request.headers, store, signer, policy)
        if isinstance(result, AuthFailure):
            return connection.respond(result.status, result.reason + "\n")
        connection.principal = result  # type: ignore[attr-defined]
        return None

    async def handler(ws: ServerConnection) -> None:
        principal = ws.principal  # type: ignore[attr-defined]
        await ws.send(json.dumps({"role": principal.role.value, "subject": principal.subject}))

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/ws/call"
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            assert json.loads(await ws.recv()) == {"role": "agent", "subject": "A1"}
        principal = store.authenticate(token)
        assert principal is not None
        async with connect(f"{url}?ticket={signer.issue(principal)}") as ws:
            assert json.loads(await ws.recv())["subject"] == "A1"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as cross:
            bearer = {"Authorization": f"Bearer {token}"}
            async with connect(url, origin="http://evil.example", additional_headers=bearer):  # type: ignore[arg-type]
                pass
        assert cross.value.response.status_code == 403


async def test_silent_peer_is_closed_within_the_heartbeat_budget() -> None:
    """A client that completes the handshake and then never answers is dropped in time."""
    interval, timeout, close_timeout = 0.2, 0.3, 0.2
    closed_after: list[float] = []
    connected = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        connected.set()
        started = time.monotonic()
        await ws.wait_closed()
        closed_after.append(time.monotonic() - started)

    async with serve(handler, "127.0.0.1", 0, **keepalive_kwargs(interval, timeout, close_timeout)) as server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws/call HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        assert b"101" in status
        await asyncio.wait_for(connected.wait(), 5)
        # stay silent: never read, never answer pings
        for _ in range(100):
            if closed_after:
                break
            await asyncio.sleep(0.05)
        writer.close()
    assert closed_after, "the silent peer was never closed"
    budget = interval + timeout + close_timeout
    assert closed_after[0] < 3 * budget  # closed by the keepalive, not by the test's 5 s wait
