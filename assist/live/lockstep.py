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
than one role.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import Hypothesis

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
