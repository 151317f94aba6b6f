"""Soak test: N calls streamed in real time for M minutes; does the server stay flat?

    python -m bench.soak --url ws://127.0.0.1:8765/ws/call --calls 8 --minutes 30 [--token T] [--pid PID]

Each call streams looping speech (espeak-ng Korean made at start, or ``--wav``)
in real time and starts again when it ends.  Every ``--window`` seconds (30) it
prints and records the server's RSS (``/proc/PID/status`` VmRSS) and open file
descriptors (``/proc/PID/fd``), the p95 latency of final transcripts (arrival
minus the moment the audio they end on was sent), calls completed and errors.
At the end it writes a JSON and a Markdown summary and says whether memory and
fds stayed flat: the last window within ``--tolerance`` (10 %) of the first one
after ``--warmup`` minutes.  Loopback servers only; stops by itself.
Not part of the test suite (see docs/security.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import os
import statistics
import sys
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from bench.speech import KOREAN_SENTENCES, synthesize

CHUNK_SECONDS = 0.1


@dataclass(slots=True)
class Window:
    """What happened during one reporting window."""

    t: float  # seconds since the soak started (end of the window)
    rss_kib: int | None
    fds: int | None
    latencies: list[float] = field(default_factory=list)
    finals: int = 0
    calls_done: int = 0
    errors: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)

    def p95(self) -> float | None:
        return percentile(self.latencies, 95)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        del out["latencies"]
        out["p95_latency_s"] = None if self.p95() is None else round(self.p95() or 0.0, 3)
        return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def read_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def count_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def find_listener_pid(port: int) -> int | None:
    """The pid listening on TCP ``port`` (from /proc/net/tcp*; needs permission to read its fds)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                    inodes.add(cols[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in targets:
                        return int(entry.name)
    return None


def load_audio(wav: Path | None, rate: int) -> np.ndarray[Any, np.dtype[np.int16]]:
    """Mono int16 speech at ``rate``: the WAV given, or espeak-ng Korean sentences with pauses."""
    if wav is not None:
        with wave.open(str(wav)) as w:
            if w.getsampwidth() != 2:
                raise SystemExit(f"{wav}: need 16-bit PCM")
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
            data = data.reshape(-1, w.getnchannels())[:, 0]
            if w.getframerate() != rate:
                import soxr

                data = soxr.resample(data, w.getframerate(), rate).astype(np.int16)
            return data
    pause = np.zeros(int(0.6 * rate), np.int16)
    parts: list[np.ndarray[Any, np.dtype[np.int16]]] = []
    for sentence in KOREAN_SENTENCES:
        parts += [synthesize(sentence, rate), pause]
    return np.concatenate(parts)


class Soak:
    def __init__(self, args: argparse.Namespace, audio: bytes) -> None:
        self.args = args
        self.audio = audio
        self.bytes_per_second = args.rate * 2
        self.started = time.monotonic()
        self.window = Window(0.0, None, None)
        self.windows: list[Window] = []
        self.calls_started = 0

    async def run_call(self, index: int) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        headers = {"Authorization": f"Bearer {self.args.token}"} if self.args.token else None
        deadline = self.started + self.args.minutes * 60
        round_no = 0
        while time.monotonic() < deadline:
            round_no += 1
            self.calls_started += 1
            call_id = f"soak-{os.getpid()}-{index}-{round_no}"
            start = {"type": "start", "call_id": call_id, "agent_id": f"soak{index}", "sample_rate": self.args.rate,
                     "encoding": "pcm_s16le", "channels": 1, "roles": ["mixed"]}
            try:
                async with connect(self.args.url, additional_headers=headers, max_size=None) as ws:
                    await ws.send(json.dumps(start))
                    sent_at: list[tuple[int, float]] = []
                    reader = asyncio.create_task(self._read(ws, sent_at))
                    began = time.monotonic()
                    sent = 0
                    step = int(CHUNK_SECONDS * self.bytes_per_second)
                    for offset in range(0, len(self.audio), step):
                        if time.monotonic() >= deadline:
                            break
                        piece = self.audio[offset : offset + step]
                        await asyncio.sleep(max(0.0, began + (sent + len(piece)) / self.bytes_per_second
                                                - time.monotonic()))
                        await ws.send(piece)
                        sent += len(piece)
                        sent_at.append((sent, time.monotonic()))
                    await ws.send(json.dumps({"type": "end"}))
                    await asyncio.wait_for(reader, 60)
                self.window.calls_done += 1
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError) as exc:
                self._error(type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _read(self, ws: Any, sent_at: list[tuple[int, float]]) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                if isinstance(message, bytes):
                    continue
                event = json.loads(message)
                kind = event.get("type")
                if kind == "error":
                    self._error(str(event.get("code")))
                elif kind == "transcript" and event.get("final"):
                    self.window.finals += 1
                    needed = float(event.get("end", 0.0)) * self.bytes_per_second
                    sent_when = next((t for n, t in sent_at if n >= needed), None)
                    if sent_when is not None:
                        self.window.latencies.append(time.monotonic() - sent_when)
                elif kind == "ended":
                    return

    def _error(self, code: str) -> None:
        self.window.errors += 1
        self.window.error_codes[code] = self.window.error_codes.get(code, 0) + 1

    async def report(self) -> None:
        deadline = self.started + self.args.minutes * 60
        while True:
            await asyncio.sleep(max(0.0, min(self.args.window, deadline - time.monotonic())))
            self.close_window()
            if time.monotonic() >= deadline:
                return

    def close_window(self) -> None:
        w = self.window
        w.t = round(time.monotonic() - self.started, 1)
        if self.args.pid:
            w.rss_kib, w.fds = read_rss_kib(self.args.pid), count_fds(self.args.pid)
        self.windows.append(w)
        p95 = w.p95()
        rss = "-" if w.rss_kib is None else w.rss_kib
        fds = "-" if w.fds is None else w.fds
        print(
            f"[{w.t:7.1f}s] rss {rss} KiB  fds {fds}"
            f"  finals {w.finals}  p95 {'-' if p95 is None else f'{p95:.2f}s'}  calls done {w.calls_done}"
            f"  errors {w.errors} {w.error_codes or ''}",
            flush=True,
        )
        self.window = Window(0.0, None, None)


FLAT_SPAN = 4  # windows at each end whose median is compared


def flatness(windows: list[Window], warmup_s: float, tolerance: float) -> dict[str, Any]:
    """Compare the median of the first windows after warm-up with the median of the last ones.

    One window's RSS depends on where the calls are in their life (each call's recognizers come and
    go), so a single sample swings by ±15% on a flat server; the median over ``FLAT_SPAN`` windows
    (two minutes by default) at each end does not.
    """
    after = [w for w in windows if w.t > warmup_s]
    out: dict[str, Any] = {"windows_after_warmup": len(after), "tolerance": tolerance, "span": FLAT_SPAN}
    if len(after) < 2 * FLAT_SPAN:
        out["verdict"] = f"too short: need {2 * FLAT_SPAN} windows after warm-up"
        return out
    verdicts = []
    for key in ("rss_kib", "fds"):
        head = [getattr(w, key) for w in after[:FLAT_SPAN]]
        tail = [getattr(w, key) for w in after[-FLAT_SPAN:]]
        if None in head or None in tail:
            out[key] = None
            continue
        a, b = float(statistics.median(head)), float(statistics.median(tail))
        if a == 0:
            out[key] = None
            continue
        change = (b - a) / a
        out[key] = {"first": a, "last": b, "change": round(change, 4), "flat": abs(change) <= tolerance}
        verdicts.append(abs(change) <= tolerance)
    out["verdict"] = "flat" if verdicts and all(verdicts) else ("unknown (no --pid)" if not verdicts else "GROWING")
    return out


def write_summary(args: argparse.Namespace, soak: Soak, result: dict[str, Any]) -> tuple[Path, Path]:
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    all_latencies = [x for w in soak.windows for x in w.latencies]
    summary = {
        "url": args.url, "calls": args.calls, "minutes": args.minutes, "pid": args.pid,
        "calls_started": soak.calls_started,
        "calls_completed": sum(w.calls_done for w in soak.windows),
        "finals": sum(w.finals for w in soak.windows),
        "errors": sum(w.errors for w in soak.windows),
        "p95_latency_s": None if not all_latencies else round(percentile(all_latencies, 95) or 0.0, 3),
        "flatness": result,
        "windows": [w.summary() for w in soak.windows],
    }
    json_path = out_dir / f"soak-{stamp}.json"
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [
        f"# Soak {stamp}", "",
        f"{args.calls} calls x {args.minutes} min against `{args.url}` (pid {args.pid or '-'}): "
        f"{summary['calls_completed']} calls completed, {summary['finals']} finals, {summary['errors']} errors, "
        f"p95 final latency {summary['p95_latency_s'] if summary['p95_latency_s'] is not None else '-'} s.",
        "", f"Memory and fds after {args.warmup} min warm-up: **{result['verdict']}** "
        f"(tolerance {args.tolerance:.0%}).", "",
        "| t (s) | RSS (KiB) | fds | finals | p95 latency (s) | calls done | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in soak.windows:
        p95 = w.p95()
        lines.append(f"| {w.t} | {w.rss_kib or '-'} | {w.fds or '-'} | {w.finals} | "
                     f"{'-' if p95 is None else f'{p95:.2f}'} | {w.calls_done} | {w.errors} |")
    md_path = out_dir / f"soak-{stamp}.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/ws/call (loopback only)")
    parser.add_argument("--calls", type=int, default=4, help="concurrent calls (default 4)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--token", default=os.environ.get("ASSIST_TOKEN"), help="bearer token ($ASSIST_TOKEN)")
    parser.add_argument("--pid", type=int, default=None, help="server pid (default: whoever listens on the port)")
    parser.add_argument("--wav", type=Path, default=None, help="16-bit WAV to loop instead of espeak-ng speech")
    parser.add_argument("--rate", type=int, default=8000, help="sample rate sent (default 8000, telephone)")
    parser.add_argument("--window", type=float, default=30.0, help="report every ... seconds (default 30)")
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes ignored by the flatness check")
    parser.add_argument("--tolerance", type=float, default=0.10, help="flat means within this share (0.10)")
    parser.add_argument("--out", default="test-artifacts", help="directory for the summaries")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        parser.error(f"{host or args.url!r} is not a loopback address: the soak only runs against this machine")
    if not (1 <= args.calls <= 500) or not (0 < args.minutes <= 24 * 60) or args.window <= 0:
        parser.error("need 1..500 calls, 0..1440 minutes and a positive window")
    return args


async def main_async(args: argparse.Namespace) -> int:
    audio = load_audio(args.wav, args.rate).astype("<i2").tobytes()
    if args.pid is None:
        args.pid = find_listener_pid(urlsplit(args.url).port or 80)
    print(f"soak: {args.calls} calls x {args.minutes} min, {len(audio) / (2 * args.rate):.1f} s of audio per call, "
          f"server pid {args.pid or 'unknown (no memory/fd figures)'}", flush=True)
    soak = Soak(args, audio)
    reporter = asyncio.create_task(soak.report())
    calls = [asyncio.create_task(soak.run_call(i)) for i in range(args.calls)]
    try:
        await reporter
        _, pending = await asyncio.wait(calls, timeout=90)
        for task in pending:
            task.cancel()
    finally:
        for task in calls:
            task.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
    result = flatness(soak.windows, args.warmup * 60, args.tolerance)
    json_path, md_path = write_summary(args, soak, result)
    print(f"memory/fds: {result['verdict']}; summaries: {json_path} {md_path}", flush=True)
    return 0 if result["verdict"] != "GROWING" else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
