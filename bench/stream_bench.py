"""Streaming benchmark: transcript latency, capacity, memory, real-time factor and silence gating.

    python -m bench.stream_bench --model DIR --calls 2 --seconds 30
    python -m bench.stream_bench --model DIR --find-max --seconds 30
    python -m bench.stream_bench --model DIR --gate-compare --seconds 30

The server runs as a subprocess (``python -m assist serve``) so its CPU and
memory are measured apart from the clients.  Each call is a stereo dialogue of
espeak-ng Korean sentences with pauses between turns, streamed in real time in
100 ms frames.  Latency of a word = arrival of the first transcript event
(partial or final) that contains it − the moment the frame holding the word's
last audio sample was sent (word end times come from the final transcript).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import connect

from bench.callclient import CallResult, Received, stream_call
from bench.speech import KOREAN_SENTENCES, Int16Array, dialogue, synthesize

RATE = 16000
FRAME_S = 0.1
TARGET_P95_MS = 500.0


# ---------------------------------------------------------------- the server subprocess


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``assist serve`` in a subprocess, with its CPU time, memory and /stats."""

    def __init__(self, model: Path, *, gate: bool = True, max_calls: int = 64) -> None:
        self.port = _free_port()
        self.tmp = tempfile.TemporaryDirectory(prefix="stream-bench-")  # closed in stop()
        env = {**os.environ, "ASSIST_LOG_LEVEL": "WARNING", "ASSIST_MAX_CALLS": str(max_calls),
               "ASSIST_AUTH": "off", "ASSIST_DB": str(Path(self.tmp.name) / "bench.sqlite3")}
        command = [sys.executable, "-m", "assist", "serve", "--port", str(self.port), "--model", str(model)]
        if not gate:
            command.append("--no-gate")
        self.started = time.perf_counter()
        # a file, not a pipe: a pipe nobody reads would stall the server once full
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(command, env=env, stderr=self.log, text=True)
        self.ready_s = self._wait_ready()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/call"

    def _wait_ready(self, limit_s: float = 300.0) -> float:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.tmp.cleanup()


@contextmanager
def running_server(model: Path, **kwargs: Any) -> Iterator[ServerProcess]:
    server = ServerProcess(model, **kwargs)
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- calls and latency


def call_audio(index: int, seconds: float) -> Int16Array:
    """A distinct stereo dialogue per call (sentences rotated, first speaker alternating)."""
    k = index % len(KOREAN_SENTENCES)
    sentences = KOREAN_SENTENCES[k:] + KOREAN_SENTENCES[:k]
    frames, _ = dialogue(seconds, RATE, pause=1.0, first=index % 2, sentences=sentences)
    return frames


def start_message(call_id: str) -> dict[str, Any]:
    return {"type": "start", "call_id": call_id, "agent_id": call_id, "sample_rate": RATE, "channels": 2,
            "roles": ["agent", "caller"]}


@dataclass(frozen=True, slots=True)
class Latencies:
    words: list[float]  # s, per word of every final: first event containing it - its last audio sent
    in_partial: int  # words first seen in a partial (the rest only in their final)
    finals: list[float]  # s, final arrival - the utterance's last audio sent (endpointing delay)


def latencies(result: CallResult, bytes_per_second: float) -> Latencies:
    """Word and final latencies of one call, from its events' arrival times and the audio send times."""
    events = [(r.at, r.event) for r in result.events if r.event.get("type") == "transcript"]

    def sent(audio_time: float) -> float | None:
        needed = audio_time * bytes_per_second
        return next((t for n, t in result.sent_at if n >= needed), None)

    words: list[float] = []
    finals: list[float] = []
    in_partial = 0
    for at_final, final in events:
        if not final["final"]:
            continue
        if (end_sent := sent(final["end"])) is not None:
            finals.append(at_final - end_sent)
        utterance = [(at, e) for at, e in events if e["utterance_id"] == final["utterance_id"] and at <= at_final]
        for k, word in enumerate(final["words"]):
            if (word_sent := sent(word["end"])) is None:
                continue
            seen, event = next((at, e) for at, e in utterance if _has_word(e["text"].split(), word["word"], k))
            words.append(seen - word_sent)
            in_partial += not event["final"]
    return Latencies(words, in_partial, finals)


def _has_word(tokens: list[str], word: str, index: int) -> bool:
    return (index < len(tokens) and tokens[index] == word) or word in tokens


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass(frozen=True, slots=True)
class RunResult:
    calls: int
    per_call: list[tuple[int, float, float, float, float]]  # (words, p50 ms, p95 ms, % in partial, final p50 ms)
    all_p50: float
    all_p95: float
    overlay_p50: float  # the same word latency measured on an overlay socket subscribed to the call
    overlay_p95: float
    rtf: float
    mem_per_call_mb: float
    cpu_percent: float
    errors: int

    @property
    def worst_p95(self) -> float:
        return max((row[2] for row in self.per_call), default=float("nan"))


async def _sample_rss(server: ServerProcess, stop: asyncio.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], server.rss_mb())
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


async def _overlay(url: str, call_id: str, into: CallResult, subscribed: asyncio.Event) -> None:
    """An operator overlay's socket: subscribe to one call and time every event until the call ends."""
    async with connect(url.replace("/ws/call", "/ws/subscribe"), max_size=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "call_id": call_id}))
        await ws.recv()  # "subscribed"
        subscribed.set()
        while True:
            event = json.loads(await ws.recv())
            into.events.append(Received(time.monotonic(), event))
            if event.get("type") == "call_ended":
                return


async def run_calls(server: ServerProcess, n: int, seconds: float, tag: str) -> RunResult:
    audio = [call_audio(i, seconds).astype("<i2").tobytes() for i in range(n)]
    bps = RATE * 2 * 2
    overlays = [CallResult() for _ in range(n)]
    ready = [asyncio.Event() for _ in range(n)]
    watchers = [asyncio.create_task(_overlay(server.url, f"{tag}-{i}", overlays[i], ready[i])) for i in range(n)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 30)
    before, cpu0, idle_rss, wall0 = server.stats(), server.cpu_s(), server.rss_mb(), time.perf_counter()
    peak = [idle_rss]
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(server, stop, peak))
    results = await asyncio.gather(*(
        stream_call(server.url, start_message(f"{tag}-{i}"), data, chunk=round(bps * FRAME_S), bytes_per_second=bps)
        for i, data in enumerate(audio)
    ))
    stop.set()
    await sampler
    await asyncio.wait_for(asyncio.gather(*watchers), 30)
    overlay_lat: list[float] = []
    for result, seen in zip(results, overlays, strict=True):
        seen.sent_at = result.sent_at
        overlay_lat += [x * 1000 for x in latencies(seen, bps).words]
    wall = time.perf_counter() - wall0
    after, cpu1 = server.stats(), server.cpu_s()
    per_call = []
    everything: list[float] = []
    for result in results:
        found = latencies(result, bps)
        lat = [x * 1000 for x in found.words]
        everything += lat
        share = 100 * found.in_partial / len(lat) if lat else float("nan")
        per_call.append((len(lat), percentile(lat, 50), percentile(lat, 95), share,
                         percentile([x * 1000 for x in found.finals], 50)))
    audio_s = after["channel_audio_s"] - before["channel_audio_s"]
    rtf = (after["decode_cpu_s"] - before["decode_cpu_s"]) / audio_s if audio_s else float("nan")
    errors = sum(len(r.errors) + (r.ended is None) for r in results)
    return RunResult(n, per_call, percentile(everything, 50), percentile(everything, 95),
                     percentile(overlay_lat, 50), percentile(overlay_lat, 95), rtf,
                     (peak[0] - idle_rss) / n, 100 * (cpu1 - cpu0) / wall, errors)


async def warm_up(server: ServerProcess) -> None:
    data = call_audio(0, 3.0).astype("<i2").tobytes()
    await stream_call(server.url, start_message("warm-up"), data, chunk=6400)


# ---------------------------------------------------------------- silence gating


LINE_NOISE_DBFS = -55.0  # a quiet telephone line; exact digital zeros are free for Vosk and would hide the gate


def gate_audio(seconds: float, speech_share: float) -> bytes:
    """Mono audio: sentences back to back (share 1.0) or alternating with equal pauses (0.5).

    Line noise at ``LINE_NOISE_DBFS`` runs under everything, as on a real call: a pause is a quiet
    line, not digital silence.
    """
    parts: list[Int16Array] = []
    total = 0
    i = 0
    while total < seconds * RATE:
        speech = synthesize(KOREAN_SENTENCES[i % len(KOREAN_SENTENCES)], RATE)
        gap = round(len(speech) * (1 - speech_share) / speech_share) if speech_share < 1 else round(0.05 * RATE)
        parts += [speech, np.zeros(gap, np.int16)]
        total += len(speech) + gap
        i += 1
    clean = np.concatenate(parts)[: round(seconds * RATE)].astype(np.float64)
    noise = np.random.default_rng(0).standard_normal(clean.size) * 32768 * 10 ** (LINE_NOISE_DBFS / 20)
    return np.clip(np.rint(clean + noise), -32768, 32767).astype("<i2").tobytes()


async def gate_cost(server: ServerProcess, audio: bytes, call_id: str) -> tuple[float, float, float]:
    """(decode CPU s, audio s, audio decoded s) of one call streamed as fast as the server takes it."""
    before = server.stats()
    # a training replay: not held to the 2x real-time limit of live calls
    start = {"type": "start", "call_id": call_id, "agent_id": "gate", "sample_rate": RATE, "mode": "training"}
    await stream_call(server.url, start, audio, chunk=3200)
    after = server.stats()

    def delta(key: str) -> float:
        return float(after[key] - before[key])

    return delta("decode_cpu_s"), delta("channel_audio_s"), delta("channel_audio_decoded_s")


# ---------------------------------------------------------------- report


def print_run(run: RunResult) -> None:
    print(f"\n{run.calls} simultaneous stereo call(s), real time, 100 ms frames")
    print(f"{'call':>5} {'words':>6} {'p50 ms':>8} {'p95 ms':>8} {'seen in partial':>16} {'final p50 ms':>13}")
    for i, (words, p50, p95, share, final) in enumerate(run.per_call):
        print(f"{i:>5} {words:>6} {p50:>8.0f} {p95:>8.0f} {share:>15.0f}% {final:>13.0f}")
    print(f"{'all':>5} {sum(row[0] for row in run.per_call):>6} {run.all_p50:>8.0f} {run.all_p95:>8.0f}")
    print(f"overlay socket (same words, received on /ws/subscribe): p50 {run.overlay_p50:.0f} ms, "
          f"p95 {run.overlay_p95:.0f} ms")
    print(f"real-time factor per channel {run.rtf:.3f} | memory per call {run.mem_per_call_mb:.1f} MB | "
          f"server CPU {run.cpu_percent:.0f}% of one core | errors {run.errors}")


async def main_async(args: argparse.Namespace, model: Path) -> int:
    from assist.audio.recognizer import VoskModelFactory

    began = time.perf_counter()
    factory = VoskModelFactory(model)
    load_s = time.perf_counter() - began
    del factory
    print(f"model {model}: loaded in {load_s:.2f} s (in this process)")

    calls = max([args.calls, *args.sweep]) if not args.find_max else args.max_calls
    with running_server(model, max_calls=max(64, calls * 2)) as server:
        print(f"server ready in {server.ready_s:.2f} s (start-up incl. model load), idle RSS {server.rss_mb():.0f} MB")
        await warm_up(server)
        print(f"RSS after a warm-up call {server.rss_mb():.0f} MB (the shared model and code)")
        if args.find_max:
            best = 0
            for n in range(1, args.max_calls + 1):
                run = await run_calls(server, n, args.seconds, f"n{n}")
                print_run(run)
                if run.errors or not run.worst_p95 < TARGET_P95_MS:
                    break
                best = n
            print(f"\nmax simultaneous stereo calls with every call's p95 < {TARGET_P95_MS:.0f} ms: {best}")
        elif args.sweep:
            for n in args.sweep:
                print_run(await run_calls(server, n, args.seconds, f"s{n}"))
        elif args.calls:
            print_run(await run_calls(server, args.calls, args.seconds, "run"))
        if args.gate_compare:
            speech = await gate_cost(server, gate_audio(args.seconds, 1.0), "gate-speech")
            half = await gate_cost(server, gate_audio(args.seconds, 0.5), "gate-half")
    if args.gate_compare:
        with running_server(model, gate=False) as ungated:
            await warm_up(ungated)
            half_ungated = await gate_cost(ungated, gate_audio(args.seconds, 0.5), "nogate-half")
        print(f"\nsilence gating, one mono call of {args.seconds:.0f} s streamed as fast as possible")
        print(f"{'call':32} {'decode CPU s':>12} {'decoded/audio':>14} {'RTF':>6}")
        for label, (cpu, audio, decoded) in (("continuous speech, gate on", speech),
                                             ("half silence, gate on", half),
                                             ("half silence, gate off", half_ungated)):
            print(f"{label:32} {cpu:12.2f} {decoded / audio:14.2f} {cpu / audio:6.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="Vosk model directory (default: $ASSIST_MODEL / newest installed)")
    parser.add_argument("--calls", type=int, default=1, help="simultaneous calls (0: skip)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each call")
    parser.add_argument("--find-max", action="store_true", help=f"raise N until a call's p95 >= {TARGET_P95_MS:.0f} ms")
    parser.add_argument("--max-calls", type=int, default=16, help="upper bound for --find-max")
    parser.add_argument("--gate-compare", action="store_true", help="CPU of half-silence vs continuous speech")
    parser.add_argument("--sweep", type=lambda v: [int(x) for x in v.split(",")], default=[],
                        help="run these numbers of simultaneous calls one after another, e.g. 1,2,4,6")
    args = parser.parse_args(argv)
    if args.seconds < 3 or args.calls < 0 or args.max_calls < 1:
        parser.error("--seconds must be at least 3, --calls at least 0, --max-calls at least 1")
    from assist.audio.models import ModelError, resolve_model_dir

    try:
        model = resolve_model_dir(args.model, os.environ)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(main_async(args, model))


if __name__ == "__main__":
    raise SystemExit(main())
