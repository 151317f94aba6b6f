"""The per-role decode worker of a live call, and what every decode worker of a call shares.

Each role of a live call has one worker task: it takes the role's queued audio (coalescing what
piled up, up to ``max_coalesce`` samples), decodes it in the executor inside a decode slot
(``DecodeGate``: live calls first), and hands the recognizer's results to the session, which turns
them into transcripts.  A failure stops decoding for the whole call; the queues are still drained
so the reader is never stuck.  Training replays decode their roles together instead
(``assist.live.lockstep.decode_roles_in_step``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import Hypothesis
from assist.live.roles import RoleState

if TYPE_CHECKING:
    from assist.live.decode_gate import DecodeGate
    from assist.live.metrics import Metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class DecodeContext:
    """What the decode workers of one call share: where to decode, where results go, the failure."""

    call_id: str
    sample_rate: int
    live: bool
    executor: Executor
    max_coalesce: int  # samples decoded at most in one executor job
    push: Callable[[str, Sequence[Hypothesis]], Awaitable[None]]  # results of a role, to the session
    call_end: Callable[[], float]  # call time of the end of the audio received
    gate: DecodeGate | None = None
    metrics: Metrics | None = None
    failure: BaseException | None = None

    def slot(self) -> AbstractAsyncContextManager[None]:
        """A decode slot: live calls go first, training replays get a share (``DecodeGate``)."""
        if self.gate is None:
            return contextlib.nullcontext()
        return self.gate.slot(live=self.live)

    def fail(self, state: RoleState, exc: BaseException) -> None:
        log.error("call %s: decoding %s failed: %r", self.call_id, state.role, exc, exc_info=exc)
        self.failure = exc

    async def timed(self, fn: Callable[..., T], *args: object) -> tuple[T, float]:
        """Run ``fn(*args)`` in the executor inside a decode slot; its result and the seconds it took."""
        loop = asyncio.get_running_loop()
        async with self.slot():
            began = time.perf_counter()
            result = await loop.run_in_executor(self.executor, fn, *args)
            return result, time.perf_counter() - began

    async def close_open(self, state: RoleState) -> None:
        """Partials shown but no words left at the end: close the utterance, empty; then the last figures."""
        if state.open_id is not None:
            end = self.call_end()
            await self.push(state.role, [Hypothesis(True, "", end, end)])
        state.copy_stats()


async def decode_role(ctx: DecodeContext, state: RoleState, decoder: ChannelDecoder) -> None:
    """Decode this role's queued audio, coalescing what piled up, until the end marker."""
    done = False
    while not done:
        chunk = await state.queue.get()
        if chunk is None:
            break
        parts = [chunk]
        size = len(chunk)
        while size < ctx.max_coalesce and not state.queue.empty():
            more = state.queue.get_nowait()
            if more is None:
                done = True
                break
            parts.append(more)
            size += len(more)
        if ctx.failure is not None:
            continue  # drain without decoding so the reader is never stuck
        audio = parts[0] if len(parts) == 1 else np.concatenate(parts)
        try:
            hyps, took = await ctx.timed(decoder.feed, audio)
        except Exception as exc:
            ctx.fail(state, exc)
            continue
        if ctx.metrics is not None:
            ctx.metrics.decoded(len(audio) / ctx.sample_rate, took)
        state.stats.decode_calls += 1
        await ctx.push(state.role, hyps)
    if ctx.failure is None:
        try:
            hyps, _ = await ctx.timed(decoder.finish)
        except Exception as exc:
            ctx.fail(state, exc)
        else:
            await ctx.push(state.role, hyps)
    await ctx.close_open(state)
