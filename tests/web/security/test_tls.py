"""TLS: a self-signed certificate (made with openssl) serves wss:// on 127.0.0.1."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from assist.web.tls import TlsError, server_context


async def test_wss_round_trip(cert_pair: tuple[Path, Path]) -> None:
    cert, key = cert_pair

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0, ssl=server_context(cert, key)) as server:
        port = server.sockets[0].getsockname()[1]
        client = ssl.create_default_context(cafile=str(cert))
        async with connect(f"wss://127.0.0.1:{port}/ws/call", ssl=client) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            assert ws.transport.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")


def test_clear_errors(cert_pair: tuple[Path, Path], tmp_path: Path) -> None:
    cert, key = cert_pair
    with pytest.raises(TlsError, match="does not exist"):
        server_context(tmp_path / "nope.pem", key)
    with pytest.raises(TlsError, match="key"):
        server_context(cert, cert)  # a certificate is not a key
    server_context(cert, key)
