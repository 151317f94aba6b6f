"""Demo mode (``assist serve --no-model --demo``): the sample calls replay in a loop.

The calls shipped in ``assist/training/samples/*.jsonl`` are sent one after the
other, forever, to the server's own ``/ws/call`` as transcript-source training
calls (the same path as ``assist replay``) under agent ``DEMO_AGENT``.  So a
newcomer without a Chinese model sees the operator overlay (``/?agent=demo``),
the supervisor dashboard and the call history fill at once; the pages carry
the 演示 badge (``assist.web.routes.DEMO_BADGE``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from importlib import resources

from assist.protocol.enums import Role
from assist.protocol.events import TranscriptLine
from assist.training.demo_agent import DEMO_AGENT as DEMO_AGENT
from assist.training.replay import EventHandler, ReplayError, parse_transcript, replay_transcript, transcript_roles

log = logging.getLogger("assist.training.demo")

PAUSE_SECONDS = 3.0  # between two calls, so the overlay shows a call's end before the next begins


@dataclass(frozen=True, slots=True)
class SampleCall:
    name: str  # file stem, e.g. "legal-dispute"
    roles: tuple[Role, ...]
    lines: tuple[TranscriptLine, ...]


def sample_calls() -> list[SampleCall]:
    """The sample calls shipped as package data, by file name.  ReplayError for a broken file."""
    folder = resources.files("assist.training").joinpath("samples")
    calls = []
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if not item.name.endswith(".jsonl"):
            continue
        lines = parse_transcript(item.read_text(encoding="utf-8"), item.name)
        roles, kept = transcript_roles(lines, None)
        calls.append(SampleCall(item.name.removesuffix(".jsonl"), roles, tuple(kept)))
    if not calls:
        raise ReplayError("no sample calls shipped in assist/training/samples")
    return calls


def demo_call_id(sample: SampleCall) -> str:
    """``demo-<sample>-<8 random hex>``: new on every call, readable in the history, never masked as a number."""
    return f"demo-{sample.name}-{secrets.token_hex(4)}"


async def run_demo(
    call_url: str,
    *,
    speed: float = 1.0,
    pause: float = PAUSE_SECONDS,
    rounds: int | None = None,
    on_event: EventHandler | None = None,
) -> int:
    """Replay every sample call at ``speed``, ``rounds`` times (None: until cancelled); returns calls ended.

    A call the server refuses or drops is logged and the loop goes on after ``pause``.
    """
    samples = sample_calls()
    ended = 0
    round_number = 0
    while rounds is None or round_number < rounds:
        round_number += 1
        for sample in samples:
            result = await replay_transcript(
                call_url, sample.lines, sample.roles, call_id=demo_call_id(sample),
                agent_id=DEMO_AGENT, speed=speed, on_event=on_event or _ignore, direct=True,
            )
            if result.ended:
                ended += 1
            else:
                log.warning("demo call %s stopped: %s", result.call_id, result.error)
            await asyncio.sleep(pause)
    return ended


def _ignore(event: object) -> None:
    return None
