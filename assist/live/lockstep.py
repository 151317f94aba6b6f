"""Training replays decode their roles in step, so a recording gives its events in one order every time.

A live call decodes each role in its own worker, and the roles' results reach the pipeline in
whatever order the decode threads finish: the natural order of speech in real time.  A training
replay sends its audio as fast as it may, so that order would follow how fast each role's
recognizer happens to run: a warm recognizer from the pool (``assist.audio.pool``) finishes an
utterance sooner than a cold one, and one warmed on the other role's speech sooner than one that
was not.  Two replays of one recording then delivered the same finals in different orders (the
caller's before the agent's), and the prompts, alerts and training report, which follow the order
of finals, differed too.

``decode_in_step`` decodes a stretch of call audio for every role, cut on a fixed grid of call time
(``STEP_S``, counted from the call's first sample, whatever messages the audio came in): for each
step, role after role in the call's role order.  The decoders give the same results for the same
samples however they are cut (``assist.audio.channel``), so the order of the results depends on the
recording only.  It runs in a decode thread; ``CallSession`` uses it for training calls with more
than one role, through ``decode_roles_in_step``, the worker task that replaces the per-role workers
(``assist.live.decode_worker``) of such a call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import Hypothesis
from assist.live.decode_worker import DecodeContext
from assist.live.roles import RoleState

Int16Array = npt.NDArray[np.int16]
STEP_S = 0.1  # the grid: the decoder's own 100 ms blocks

RoleHypotheses = list[tuple[int, list[Hypothesis]]]  # (role index, its results), in delivery order


def step_samples(sample_rate: int) -> int:
    return max(1, round(sample_rate * STEP_S))


def decode_in_step(decoders: Sequence[ChannelDecoder], chunks: Sequence[Int16Array], first_sample: int,
                   step: int) -> RoleHypotheses:
    """Feed ``chunks[i]`` (the same stretch of the call for role ``i``, starting at call sample
    ``first_sample``) to ``decoders[i]``, one grid step for every role at a time."""
    if len(decoders) != len(chunks):
        raise ValueError("one chunk per decoder")
    length = len(chunks[0]) if chunks else 0
    if any(len(c) != length for c in chunks):
        raise ValueError("every role's chunk must cover the same samples")
    out: RoleHypotheses = []
    at = 0
    while at < length:
        end = min(length, at + step - (first_sample + at) % step)
        for index, (decoder, chunk) in enumerate(zip(decoders, chunks, strict=True)):
            hyps = decoder.feed(chunk[at:end])
            if hyps:
                out.append((index, hyps))
        at = end
    return out


def finish_in_step(decoders: Sequence[ChannelDecoder]) -> RoleHypotheses:
    """End of the call: every decoder's last results, in role order."""
    out: RoleHypotheses = []
    for index, decoder in enumerate(decoders):
        hyps = decoder.finish()
        if hyps:
            out.append((index, hyps))
    return out


async def decode_roles_in_step(ctx: DecodeContext, states: list[RoleState]) -> None:
    """The decode worker of every role of a training replay at once: the same audio, decoded on one grid
    of call time, results delivered in one order."""
    decoders = [s.decoder for s in states if s.decoder is not None]
    step = step_samples(ctx.sample_rate)
    decoded = 0  # call samples decoded so far (every role the same)
    done = False
    while not done:
        parts: list[list[Int16Array]] = [[] for _ in states]
        for index, state in enumerate(states):  # feed_audio queues each message for every role, in order
            chunk = await state.queue.get()
            if chunk is None:
                done = True
            else:
                parts[index].append(chunk)
        size = len(parts[0][0]) if parts[0] else 0
        while not done and size < ctx.max_coalesce and all(not s.queue.empty() for s in states):
            more = [s.queue.get_nowait() for s in states]
            got = [m for m in more if m is not None]
            if len(got) < len(more):
                done = True
                break
            for index, m in enumerate(got):
                parts[index].append(m)
            size += len(got[0])
        if ctx.failure is not None or not parts[0]:
            continue  # drain without decoding so the reader is never stuck
        chunks = [p[0] if len(p) == 1 else np.concatenate(p) for p in parts]
        try:
            results, took = await ctx.timed(decode_in_step, decoders, chunks, decoded, step)
        except Exception as exc:
            ctx.fail(states[0], exc)
            continue
        decoded += len(chunks[0])
        for state in states:
            if ctx.metrics is not None:
                ctx.metrics.decoded(len(chunks[0]) / ctx.sample_rate, took / len(states))
            state.stats.decode_calls += 1
        for index, hyps in results:
            await ctx.push(states[index].role, hyps)
    if ctx.failure is None:
        try:
            results, _ = await ctx.timed(finish_in_step, decoders)
        except Exception as exc:
            ctx.fail(states[0], exc)
        else:
            for index, hyps in results:
                await ctx.push(states[index].role, hyps)
    for state in states:
        await ctx.close_open(state)
