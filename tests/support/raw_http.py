"""Raw HTTP/1.1 requests over a socket: exact request targets and repeated headers, as an attacker sends them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

UPGRADE = (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
           ("Sec-WebSocket-Version", "13"))


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


async def raw_request(
    port: int, target: str, headers: tuple[tuple[str, str], ...] = (), *, method: str = "GET",
    host: str | None = None, upgrade: bool = False,
) -> RawResponse:
    """Send one request exactly as given (``host`` None: ``127.0.0.1:PORT``) and read the response head and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host if host is not None else f'127.0.0.1:{port}'}"]
    lines += [f"{k}: {v}" for k, v in (*headers, *(UPGRADE if upgrade else ()))]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        parsed = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines if h)]
        length = next((int(v) for k, v in parsed if k.lower() == "content-length"), 0)
        body = await asyncio.wait_for(reader.readexactly(length), 10) if length and status != 101 else b""
    finally:
        writer.close()
    return RawResponse(status, parsed, body)
