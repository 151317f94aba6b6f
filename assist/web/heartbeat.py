"""Heartbeats: a peer that stops answering pings is closed, and the connection knows why.

The server pings each connection every ``interval`` seconds with the public
``ping()`` of websockets and waits ``patience`` seconds (the heartbeat timeout) for the pong.  A peer
that misses it gets ``heartbeat_lost`` set on its connection before the close,
so a call handler ends the call as ``interrupted`` (resumable) rather than
``client_gone``, without reading anything into close codes or reasons.  A silent
peer is gone within ``interval + timeout + close_timeout`` (35 s by default).
"""

from __future__ import annotations

import asyncio
import contextlib

from websockets.exceptions import ConnectionClosed

from assist.protocol.errors import CLOSE_INTERNAL
from assist.web.wsbase import AssistConnection, close_quietly


async def keep_alive(ws: AssistConnection, interval: float, patience: float) -> None:
    """Run for the life of the connection (cancel it when the handler ends)."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with asyncio.timeout(patience):  # sending the ping may wait too (a full buffer)
                pong = await ws.ping()
                await pong
        except ConnectionClosed:
            return
        except TimeoutError:
            ws.heartbeat_lost = True
            with contextlib.suppress(Exception):
                await close_quietly(ws, CLOSE_INTERNAL, "heartbeat: no pong in time")
            return
