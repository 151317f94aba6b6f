"""A small client of the call protocol (docs/protocol.md) for tests and benchmarks.

``stream_call`` opens ``/ws/call``, sends ``start``, streams audio in chunks
(optionally paced by the audio clock), sends ``end`` and collects every event
with its arrival time until the server closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


@dataclass(frozen=True, slots=True)
class Received:
    at: float  # time.monotonic() on arrival
    event: dict[str, Any]


@dataclass(slots=True)
class CallResult:
    events: list[Received] = field(default_factory=list)
    close_code: int | None = None
    sent_at: list[tuple[int, float]] = field(default_factory=list)  # (audio bytes sent so far, monotonic)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r.event for r in self.events if r.event.get("type") == kind]

    @property
    def ready(self) -> dict[str, Any] | None:
        found = self.of_type("ready")
        return found[0] if found else None

    @property
    def ended(self) -> dict[str, Any] | None:
        found = self.of_type("ended")
        return found[0] if found else None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.of_type("error")

    def transcripts(self, role: str | None = None, *, final: bool | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.of_type("transcript")
            if (role is None or e["role"] == role) and (final is None or e["final"] is final)
        ]

    def final_texts(self, role: str | None = None) -> list[str]:
        return [e["text"] for e in self.transcripts(role, final=True)]


async def collect(ws: ClientConnection, result: CallResult) -> None:
    """Append every message to ``result`` until the socket closes; record the close code."""
    try:
        while True:
            message = await ws.recv()
            result.events.append(Received(time.monotonic(), json.loads(message)))
    except ConnectionClosed:
        pass
    result.close_code = ws.close_code


def chunked(data: bytes, sizes: int | Sequence[int]) -> list[bytes]:
    """Split ``data`` into chunks of ``sizes`` (cycled when a sequence)."""
    cycle = [sizes] if isinstance(sizes, int) else list(sizes)
    out: list[bytes] = []
    i = k = 0
    while i < len(data):
        n = max(1, cycle[k % len(cycle)])
        out.append(data[i : i + n])
        i += n
        k += 1
    return out


async def stream_call(
    url: str,
    start: dict[str, Any],
    audio: bytes,
    *,
    chunk: int | Sequence[int] = 3200,
    bytes_per_second: float | None = None,
    end: bool = True,
    limit_s: float = 120.0,
    after_ready: Callable[[ClientConnection], Any] | None = None,
) -> CallResult:
    """Run one call.  ``bytes_per_second`` paces sending by the audio clock (None: as fast as allowed).

    With ``end=False`` the socket is dropped after the audio (a vanishing client).
    """
    result = CallResult()
    async with connect(url, max_size=None, compression=None, open_timeout=limit_s) as ws:
        await ws.send(json.dumps(start))
        first = json.loads(await asyncio.wait_for(ws.recv(), limit_s))
        result.events.append(Received(time.monotonic(), first))
        if first.get("type") != "ready":
            await asyncio.wait_for(collect(ws, result), limit_s)
            return result
        if after_ready is not None:
            after_ready(ws)
        reader = asyncio.create_task(collect(ws, result))
        began = time.monotonic()
        sent = 0
        try:
            for piece in chunked(audio, chunk):
                if bytes_per_second:
                    delay = began + (sent + len(piece)) / bytes_per_second - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await ws.send(piece)
                sent += len(piece)
                result.sent_at.append((sent, time.monotonic()))
            if not end:
                ws.transport.abort()
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                return result
            await ws.send(json.dumps({"type": "end"}))
            await asyncio.wait_for(reader, limit_s)
        except ConnectionClosed:
            await asyncio.wait_for(reader, limit_s)
    return result
