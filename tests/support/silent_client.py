"""A websocket client over a raw TCP socket that can go silent: it completes the handshake, sends
frames, then stops reading and never answers a ping (like a peer whose network vanished).

A ``websockets`` client cannot do this: it answers pings by itself even when the
application stops reading.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

from websockets.frames import Frame, Opcode


class SilentClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls, host: str, port: int, path: str = "/ws/call", headers: dict[str, str] | None = None
    ) -> SilentClient:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 101 " not in status:
            raise ConnectionError(f"handshake refused: {status!r}")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        return cls(reader, writer)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self._send(Frame(Opcode.TEXT, json.dumps(message).encode()))

    async def send_bytes(self, data: bytes) -> None:
        await self._send(Frame(Opcode.BINARY, data))

    async def _send(self, frame: Frame) -> None:
        self.writer.write(frame.serialize(mask=True, extensions=[]))
        await self.writer.drain()

    def close(self) -> None:
        self.writer.transport.abort()
