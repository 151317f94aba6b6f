"""Prompt latency: how long after a transcript event its prompts reach the operator overlay.

    python -m bench.prompt_bench --calls 20 --seconds 60

Starts ``assist serve --no-model --auth off`` (a temporary database, or ``--no-store``) as a
subprocess, so the server's CPU is apart from the clients', and streams ``--calls``
concurrent transcript-source calls at ``--speed`` (1 = real time).  The calls are realistic
Chinese dialogue: lines of the sample calls and of the NLP evaluation sets (split into words
as Vosk writes them), alternating agent and caller at a Mandarin speaking rate.  Each call has
one overlay subscriber (``subscribe call_id``); one supervisor subscribes to ``all``.

Measured, all on the benchmark's one clock (``time.monotonic()`` at arrival):

* **added prompt latency**: for every prompt an overlay receives, the time since that overlay
  received the transcript event it belongs to (same utterance; the server sends a transcript
  and then the prompts its analysis gave, so the trigger is the utterance's latest transcript
  before the prompt).  Target: p95 <= 20 ms.
* **prompt end to end**: the prompt's arrival minus the moment the server's replay released
  its trigger transcript (audio time / speed on the replay clock, which starts about when
  ``ready`` arrives).  The server analyses a transcript before its send task runs, so the
  transcript and its prompts leave together: the analysis time shows here and in the
  transcripts' lateness, hardly in the added latency.
* **transcript delivery**: a transcript's arrival on the overlay (and on the supervisor's
  ``all`` socket) minus its arrival on the call's own socket.
* **lateness**: a transcript's arrival minus its release on the replay clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.transcript_calls import (
    Arrival,
    CallTrace,
    Utterances,
    build_call,
    due_at,
    load_utterances,
    open_subscriber,
    percentile,
    record,
    run_call,
    transcript_key,
)

TARGET_P95_MS = 20.0
START_SPREAD_S = 3.0  # calls start at random moments within the first seconds, not all at once


# ---------------------------------------------------------------- the server subprocess


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``python -m assist serve --no-model`` on 127.0.0.1 (auth off: loopback only)."""

    def __init__(self, *, store: bool, max_calls: int) -> None:
        self.port = _free_port()
        self.tmp = tempfile.TemporaryDirectory(prefix="prompt-bench-")
        command = [sys.executable, "-m", "assist", "serve", "--no-model", "--auth", "off",
                   "--port", str(self.port), "--max-calls", str(max_calls), "--log-level", "WARNING"]
        command += ["--db", str(Path(self.tmp.name) / "bench.sqlite3")] if store else ["--no-store"]
        # a file, not a pipe: a pipe nobody reads would stall the server once full
        self.log = (Path(self.tmp.name) / "server.log").open("w+")
        self.proc = subprocess.Popen(command, env=dict(os.environ), stderr=self.log, text=True)
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _wait_ready(self, limit_s: float = 120.0) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.tmp.cleanup()


def get_stats(url: str) -> dict[str, Any]:
    http = re.sub(r"^ws", "http", url)
    with urllib.request.urlopen(f"{http}/stats", timeout=5) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


# ---------------------------------------------------------------- the run


def call_ended(call_id: str) -> Callable[[dict[str, Any]], bool]:
    """Stop condition of an overlay: its call ended."""
    return lambda event: event.get("type") == "call_ended" and event.get("call_id") == call_id


@dataclass
class Run:
    traces: list[CallTrace]
    overlays: dict[str, list[Arrival]]  # call id -> what its overlay got
    supervisor: list[Arrival]
    wall_s: float


async def run_bench(url: str, calls: list[list[dict[str, Any]]], speed: float, seed: int) -> Run:
    ids = [f"bench-{i:03d}" for i in range(len(calls))]
    rng = random.Random(seed)
    supervisor_ws = await open_subscriber(url, all=True)
    supervisor: list[Arrival] = []
    ended: set[str] = set()

    def all_ended(event: dict[str, Any]) -> bool:
        if event.get("type") == "call_ended":
            ended.add(event["call_id"])
        return ended >= set(ids)

    tasks = [asyncio.create_task(record(supervisor_ws, supervisor, all_ended))]
    overlays: dict[str, list[Arrival]] = {}
    sockets = [supervisor_ws]
    for call_id in ids:
        ws = await open_subscriber(url, call_id=call_id)
        sockets.append(ws)
        overlays[call_id] = []
        tasks.append(asyncio.create_task(record(ws, overlays[call_id], call_ended(call_id))))

    async def one(i: int) -> CallTrace:
        await asyncio.sleep(rng.uniform(0, START_SPREAD_S))
        return await run_call(url, ids[i], f"A{i + 1:03d}", calls[i], speed=speed)

    started = time.monotonic()
    traces = list(await asyncio.gather(*(one(i) for i in range(len(calls)))))
    wall = time.monotonic() - started
    await asyncio.wait(tasks, timeout=30)
    for ws in sockets:
        await ws.close()
    return Run(traces, overlays, supervisor, wall)


# ---------------------------------------------------------------- figures


@dataclass
class PromptTimes:
    added: list[float]  # trigger transcript's arrival on the overlay -> the prompt's arrival (s)
    end_to_end: list[float]  # trigger transcript's release on the replay clock -> the prompt's arrival (s)
    orphans: int  # prompts with no transcript of their utterance before them


def prompt_times(trace: CallTrace, arrivals: Sequence[Arrival]) -> PromptTimes:
    """Times of every prompt one overlay received, from the transcript that triggered it."""
    times = PromptTimes([], [], 0)
    last: dict[str, Arrival] = {}
    for a in arrivals:
        kind = a.event.get("type")
        if kind == "transcript":
            last[a.event["utterance_id"]] = a
        elif kind == "prompt":
            trigger = last.get(a.event.get("utterance_id") or "")
            span = (a.event.get("span") or {}).get("text") or ""
            if trigger is None or (span and span not in trigger.event["text"].replace(" ", "")):
                times.orphans += 1
                continue
            times.added.append(a.at - trigger.at)
            due = due_at(trace, trigger.event)
            if due is not None:
                times.end_to_end.append(a.at - due)
    return times


def delivery_vs_call(run: Run) -> tuple[list[float], list[float]]:
    """Transcript arrival on the overlay / on the supervisor minus arrival on the call socket (s)."""
    on_call: dict[tuple[str, str, bool, str], float] = {}
    for t in run.traces:
        for a in t.arrivals:
            if a.event.get("type") == "transcript":
                on_call.setdefault(transcript_key(a.event), a.at)

    def deltas(arrivals: Sequence[Arrival]) -> list[float]:
        out = []
        for a in arrivals:
            if a.event.get("type") == "transcript":
                at = on_call.get(transcript_key(a.event))
                if at is not None:
                    out.append(a.at - at)
        return out

    overlay = [d for arrivals in run.overlays.values() for d in deltas(arrivals)]
    return overlay, deltas(run.supervisor)


def lateness(run: Run) -> tuple[list[float], list[float]]:
    """Transcript arrival minus its release on the replay clock: call sockets, overlays (s)."""
    by_id = {t.call_id: t for t in run.traces}
    calls = [a.at - due for t in run.traces for a in t.arrivals if (due := due_at(t, a.event)) is not None]
    overlays = [a.at - due for cid, arrivals in run.overlays.items() for a in arrivals
                if (due := due_at(by_id[cid], a.event)) is not None]
    return calls, overlays


def row(name: str, values: Sequence[float]) -> str:
    if not values:
        return f"| {name} | 0 | | | | |"
    ms = [v * 1000 for v in values]
    cells = [_ms(percentile(ms, 50)), _ms(percentile(ms, 95)), _ms(percentile(ms, 99)), _ms(max(ms))]
    return f"| {name} | {len(ms)} | {' | '.join(cells)} |"


def _ms(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _p(values: Sequence[float], q: float) -> str:
    return _ms(percentile(values, q) * 1000) if values else "-"


def report(run: Run, stats: dict[str, Any], args: argparse.Namespace) -> str:
    """The table, the verdict and a line for docs/performance.md."""
    by_id = {t.call_id: t for t in run.traces}
    added: list[float] = []
    end_to_end: list[float] = []
    orphans = 0
    for call_id, arrivals in run.overlays.items():
        got = prompt_times(by_id[call_id], arrivals)
        added += got.added
        end_to_end += got.end_to_end
        orphans += got.orphans
    overlay_delay, supervisor_delay = delivery_vs_call(run)
    late_call, late_overlay = lateness(run)
    completed = sum(1 for t in run.traces if t.ended and t.ended["summary"]["reason"] == "completed")
    ok = bool(added) and percentile(added, 95) * 1000 <= TARGET_P95_MS and completed == len(run.traces)
    setup = f"{len(run.traces)} calls x {args.seconds:g} s, speed {args.speed:g}, 1 overlay/call + 1 supervisor"
    return "\n".join([
        f"{setup}; store {'on' if args.store else 'off'}; {completed} completed; {run.wall_s:.1f} s wall",
        "",
        "| figure (ms) | n | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|",
        row("added prompt latency: trigger transcript -> prompt, on the overlay", added),
        row("prompt on overlay vs its transcript's release (replay clock)", end_to_end),
        row("transcript on overlay - on call socket", overlay_delay),
        row("transcript on supervisor (all) - on call socket", supervisor_delay),
        row("transcript lateness on call socket (vs replay clock)", late_call),
        row("transcript lateness on overlay (vs replay clock)", late_overlay),
        "",
        f"prompts without a matching transcript before them: {orphans}",
        f"server: events published {stats.get('events_published')}, subscriber events dropped "
        f"{stats.get('subscriber_events_dropped')}, call-socket events dropped {stats.get('call_events_dropped')}",
        f"target: added prompt latency p95 <= {TARGET_P95_MS:g} ms: {'PASS' if ok else 'FAIL'}",
        "",
        "for docs/performance.md:",
        f"| {setup} | {_p(added, 50)} / {_p(added, 95)} / {_p(added, 99)} (n={len(added)}) | "
        f"{_p(end_to_end, 50)} / {_p(end_to_end, 95)} | {_p(overlay_delay, 50)} / {_p(overlay_delay, 95)} | "
        f"{_p(supervisor_delay, 95)} |",
    ])


# ---------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.prompt_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=20, help="concurrent calls (default 20)")
    p.add_argument("--seconds", type=float, default=60.0, help="audio length of each call (default 60)")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed, 1 = real time (default 1; at most 2)")
    p.add_argument("--no-store", dest="store", action="store_false", help="server keeps nothing (default: temp DB)")
    p.add_argument("--url", help="use this running server (ws://host:port, auth off) instead of starting one")
    p.add_argument("--seed", type=int, default=1, help="random seed for the calls (default 1)")
    args = p.parse_args(argv)
    if args.calls < 1 or args.seconds <= 0 or not 1 <= args.speed <= 2:
        p.error("--calls must be >= 1, --seconds > 0 and --speed from 1 to 2 (live calls)")
    return args


def make_calls(count: int, seconds: float, seed: int) -> list[list[dict[str, Any]]]:
    from assist.nlp.tokenize import Tokenizer

    utterances: Utterances = load_utterances(Tokenizer().cut)
    rng = random.Random(seed)
    return [build_call(utterances, seconds, rng) for _ in range(count)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    calls = make_calls(args.calls, args.seconds, args.seed)
    lines = sum(len(c) for c in calls)
    print(f"{args.calls} calls, {lines} lines, {sum(len(ln['text'].replace(' ', '')) for c in calls for ln in c)} "
          "characters", file=sys.stderr)
    server = None if args.url else ServerProcess(store=args.store, max_calls=max(64, args.calls))
    url = args.url or (server.url if server else "")
    try:
        run = asyncio.run(run_bench(url, calls, args.speed, args.seed))
        stats = get_stats(url)
    finally:
        if server is not None:
            server.stop()
    print(report(run, stats, args))
    return 0 if all(t.ended for t in run.traces) else 1


if __name__ == "__main__":
    raise SystemExit(main())
