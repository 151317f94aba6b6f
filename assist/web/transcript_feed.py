"""The transcript source of one call on the socket: timed ``line`` messages fed into its session."""

from __future__ import annotations

import asyncio
import logging

from assist.live.session import CallSession
from assist.live.transcript_source import TranscriptReplayer
from assist.protocol.events import TranscriptLine

log = logging.getLogger("assist.web.server")


class TranscriptFeed:
    """Lines replayed on the call's audio clock (``TranscriptReplayer``) into the session."""

    def __init__(self, session: CallSession) -> None:
        # a resumed call: ids continue and stored finals are not replayed (the point comes from the shared store)
        self._replayer = TranscriptReplayer(
            session.call_id, session.push_transcript, speed=session.start.speed,
            resume=session.resume, start_at=session.start.resume_from or 0.0,
        )
        self._task = asyncio.create_task(self._replayer.run(), name=f"transcript feed {session.call_id}")

    def add(self, line: TranscriptLine) -> None:
        self._replayer.add(line)  # a line whose final is already stored (a resumed call) is dropped

    def hurry(self) -> None:
        """The server is stopping: what is scheduled is released at once, even during ``finish(wait=True)``."""
        self._replayer.hurry()

    async def finish(self, *, wait: bool) -> None:
        """``wait``: let the replay reach its end on its clock (unless ``hurry`` is called);
        else release everything at once.  Either way every line sent is delivered, none is cut."""
        self._replayer.close()
        if not wait:
            self._replayer.hurry()
        await asyncio.wait({self._task})
        if not self._task.cancelled() and (failure := self._task.exception()) is not None:
            log.error("transcript feed of call %s failed", self._replayer.call_id, exc_info=failure)
