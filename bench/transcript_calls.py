"""Realistic Chinese transcript-source calls and timed websocket clients, for latency tests and benchmarks.

Calls are built from the sample calls (``assist/training/samples/*.jsonl``) and the evaluation
utterances (``tests/data/nlp_eval/*.jsonl``): agent and caller turns alternate, each line
timed at a Mandarin speaking rate and written with spaces between words, as Vosk writes it.
Clients record the arrival time (``time.monotonic()``) of every event:

* ``run_call`` streams one call over ``/ws/call`` (``source: "transcript"``);
* ``open_subscriber`` + ``record`` follow ``/ws/subscribe``;
* ``open_frozen_subscriber`` subscribes and then never reads again: a tiny TCP receive
  buffer and a paused transport, like a dashboard whose tab hangs.

The transcript source releases a partial when the audio clock reaches its last word's end,
and a final ``ENDPOINT_DELAY`` after the line's end; ``due_at`` gives that moment so the
lateness of each transcript on each socket can be measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from assist.live.transcript_source import ENDPOINT_DELAY

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CALLS = ROOT / "assist" / "training" / "samples"
NLP_EVAL = ROOT / "tests" / "data" / "nlp_eval"
CHARS_PER_SECOND = 4.5  # Mandarin speech, roughly
Cut = Callable[[str], Sequence[str]]


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # time.monotonic() when the event arrived
    event: dict[str, Any]


@dataclass(slots=True)
class CallTrace:
    """What one call socket sent and got."""

    call_id: str
    speed: float
    lines: list[dict[str, Any]]
    ready_at: float = 0.0  # arrival of ``ready``: the replay clock starts about then
    arrivals: list[Arrival] = field(default_factory=list)

    @property
    def ended(self) -> dict[str, Any] | None:
        return next((a.event for a in self.arrivals if a.event.get("type") == "ended"), None)


@dataclass(frozen=True, slots=True)
class Utterances:
    """Lines operators and callers say, spaced into words."""

    agent: tuple[str, ...]
    caller: tuple[str, ...]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_utterances(cut: Cut | None = None) -> Utterances:
    """Agent and caller lines of the sample calls and of the NLP evaluation sets.

    ``cut`` splits unspaced evaluation text into words (e.g. ``Tokenizer().cut``, which also
    drops punctuation); without it only the already spaced sample-call lines are used.
    """
    agent: list[str] = []
    caller: list[str] = []
    for path in sorted(SAMPLE_CALLS.glob("*.jsonl")):
        for line in _read_jsonl(path):
            (agent if line["role"] == "agent" else caller).append(line["text"])
    if cut is not None:
        for name, into in (("agent", agent), ("caller", caller)):
            for path in sorted(NLP_EVAL.glob(f"{name}*.jsonl")):
                for item in _read_jsonl(path):
                    words = [w for w in cut(item["text"]) if w.strip()]
                    if words:
                        into.append(" ".join(words))
    if not agent or not caller:
        raise FileNotFoundError(f"no agent or caller lines under {SAMPLE_CALLS}")
    return Utterances(tuple(agent), tuple(caller))


def build_call(utterances: Utterances, seconds: float, rng: random.Random) -> list[dict[str, Any]]:
    """Timed lines of about ``seconds`` of audio: an agent greeting, then caller and agent turns."""
    lines: list[dict[str, Any]] = []
    t = 0.0
    role = "agent"
    first = utterances.agent[0]
    while t < seconds:
        text = first if not lines else rng.choice(utterances.agent if role == "agent" else utterances.caller)
        chars = len(text.replace(" ", ""))
        duration = max(0.8, chars / CHARS_PER_SECOND * rng.uniform(0.85, 1.15))
        lines.append({"role": role, "start": round(t, 3), "end": round(t + duration, 3), "text": text})
        t += duration + rng.uniform(0.4, 1.0)
        role = "caller" if role == "agent" else "agent"
    return lines


def due_at(trace: CallTrace, event: dict[str, Any]) -> float | None:
    """When the server's replay clock released this transcript event (monotonic), or None."""
    if event.get("type") != "transcript" or event.get("call_id") != trace.call_id or trace.speed <= 0:
        return None
    audio = float(event["end"]) + (ENDPOINT_DELAY if event["final"] else 0.0)
    return trace.ready_at + audio / trace.speed


def transcript_key(event: dict[str, Any]) -> tuple[str, str, bool, str]:
    """Identifies one transcript event across sockets: call, utterance, final, text."""
    return (event["call_id"], event["utterance_id"], bool(event["final"]), event["text"])


async def run_call(
    url: str, call_id: str, agent_id: str, lines: list[dict[str, Any]], *, speed: float = 1.0, mode: str = "live"
) -> CallTrace:
    """Stream one transcript-source call and record every event until ``ended`` (or a fatal error)."""
    trace = CallTrace(call_id, speed, lines)
    async with connect(url + "/ws/call", max_size=None) as ws:
        await ws.send(json.dumps({
            "type": "start", "call_id": call_id, "agent_id": agent_id, "sample_rate": 16000, "channels": 2,
            "roles": ["agent", "caller"], "source": "transcript", "speed": speed, "mode": mode,
        }))
        for line in lines:
            await ws.send(json.dumps({"type": "line", **line}, ensure_ascii=False))
        await ws.send(json.dumps({"type": "end"}))
        async for raw in ws:
            now = time.monotonic()
            event = json.loads(raw)
            trace.arrivals.append(Arrival(now, event))
            if event["type"] == "ready":
                trace.ready_at = now
            if event["type"] == "ended" or (event["type"] == "error" and event.get("fatal")):
                break
    return trace


async def open_subscriber(url: str, **what: Any) -> ClientConnection:
    """A ``/ws/subscribe`` socket past its ``subscribed`` answer (``call_id=``, ``agent_id=`` or ``all=True``)."""
    ws = await connect(url + "/ws/subscribe", max_size=None)
    await ws.send(json.dumps({"type": "subscribe", **what}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if first.get("type") != "subscribed":
        await ws.close()
        raise RuntimeError(f"not subscribed: {first}")
    return ws


async def record(ws: ClientConnection, arrivals: list[Arrival], stop: Callable[[dict[str, Any]], bool]) -> None:
    """Append every event to ``arrivals`` until ``stop(event)`` is true or the socket closes."""
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            event = json.loads(raw)
            arrivals.append(Arrival(time.monotonic(), event))
            if stop(event):
                return


async def open_frozen_subscriber(
    host: str, port: int, *, rcvbuf: int = 2048, mss: int = 536, **what: Any
) -> ClientConnection:
    """Subscribe, then never read again: small SO_RCVBUF, the transport's reading paused.

    The server's socket buffers fill and its sends to this subscriber stall; everything the
    hub publishes for it beyond its bounded queue is dropped.  Close it with ``abort``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the TCP window
    # a small MSS in the SYN: the server sizes this connection's send buffer from it (on loopback
    # the MSS is 64 KiB and the initial send buffer over a megabyte, which would hide the stall)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    ws = await connect(f"ws://{host}:{port}/ws/subscribe", sock=sock, max_queue=1)
    await ws.send(json.dumps({"type": "subscribe", **what}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if first.get("type") != "subscribed":
        raise RuntimeError(f"not subscribed: {first}")
    ws.transport.pause_reading()
    return ws


def abort(ws: ClientConnection) -> None:
    """Drop a connection at once (no closing handshake)."""
    ws.transport.abort()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
