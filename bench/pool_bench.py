"""Warm recognizer pool (issue 14): decode CPU of new vs warmed recognizers, streams held, memory.

    python -m bench.pool_bench --model DIR --cpu
    python -m bench.pool_bench --model DIR --streams 1,6,8,10,12,14 --seconds 60
    python -m bench.pool_bench --model DIR --calls 4,6 --seconds 180 --stereo

``--cpu`` (in-process, no server): decode CPU per decoded second of one call
through ``ChannelDecoder`` (voice gate on) for a new recognizer, pooled ones
warmed only at start-up (with the shipped Mandarin speech, and with Korean
warm-up speech), a pooled one that served another call before (reset in
between), and the same recognizer on the same audio again (the fully warmed
reference).

Warm-up speech: ``--warmup-seconds S`` (default 30) of Korean sentences that
the calls never say (``bench.speech.KOREAN_WARMUP_SENTENCES``), written to a
WAV and given to the server as ``ASSIST_POOL_WARMUP_AUDIO``, as a centre gives
its model speech in the model's language; ``--warmup-seconds 0`` keeps the
shipped Mandarin speech (the wrong language for the Korean test model).

``--streams``: the server (``assist serve``, subprocess, pool on) takes N mono
streams at once, in real time in 100 ms chunks.  Each stream is espeak-ng
Korean sentences with 0.8 s pauses, then an equal stretch of room noise (a call
that is half silence), −55 dBFS line noise under everything.  Word latency as
in ``bench.stream_bench``: the first transcript event holding the word at its
position minus the send time of the chunk holding its last sample.
``--stereo``: stereo calls instead (the two channels take turns, 0.8 s pauses,
line noise: each channel is more than half silence).

Memory: server RSS after start-up and pool warm-up plus one short call ("post
warm-up"), its peak during each run, and after each run once the pool has
settled: no call holds a recognizer, the idle ones beyond ``--warm`` are
trimmed, those that served calls are replaced by freshly warmed ones (the
pool's refresh, ``ASSIST_POOL_IDLE_SECONDS`` of quiet, 5 s here) and the
upkeep, whose last step is ``malloc_trim``, has finished: the bench polls the
server's ``/stats`` for that before it reads "RSS after", and prints the pool's
counters per run.  ``--no-refresh`` (``ASSIST_POOL_REFRESH=0``) and
``--max-calls`` (``ASSIST_POOL_MAX_CALLS``) set the pool's memory budget.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.callclient import stream_call
from bench.speech import KOREAN_SENTENCES, Int16Array, dialogue, synthesize, warmup_wav
from bench.stream_bench import ServerProcess, _sample_rss, latencies, percentile

RATE = 16000
FRAME_S = 0.1
PAUSE_S = 0.8
LINE_NOISE_DBFS = -55.0
IDLE_S = 5.0  # pool idle timeout of the benchmarked server, so that trimming shows within the run


def _with_line_noise(clean: Int16Array, seed: int) -> Int16Array:
    noise = np.random.default_rng(seed).standard_normal(clean.shape) * 32768 * 10 ** (LINE_NOISE_DBFS / 20)
    return np.clip(np.rint(clean.astype(np.float64) + noise), -32768, 32767).astype(np.int16)


def mono_sentences(index: int, seconds: float) -> list[str]:
    """The sentences of ``mono_stream(index, seconds)`` that fit whole in its speech half."""
    k = index % len(KOREAN_SENTENCES)
    order = KOREAN_SENTENCES[k:] + KOREAN_SENTENCES[:k]
    said: list[str] = []
    total = 0
    while True:
        text = order[len(said) % len(order)]
        total += synthesize(text, RATE).size
        if total > seconds * RATE / 2:
            return said
        said.append(text)
        total += round(PAUSE_S * RATE)


def mono_stream(index: int, seconds: float) -> Int16Array:
    """Sentences (rotated per stream) with 0.8 s pauses for half the time, then room noise."""
    k = index % len(KOREAN_SENTENCES)
    order = KOREAN_SENTENCES[k:] + KOREAN_SENTENCES[:k]
    half = round(seconds * RATE / 2)
    parts: list[Int16Array] = []
    total, i = 0, 0
    while total < half:
        speech = synthesize(order[i % len(order)], RATE)
        parts += [speech, np.zeros(round(PAUSE_S * RATE), np.int16)]
        total += speech.size + round(PAUSE_S * RATE)
        i += 1
    speech_part = np.concatenate(parts)[:half]
    clean = np.concatenate([speech_part, np.zeros(round(seconds * RATE) - half, np.int16)])
    return _with_line_noise(clean, index)


def half_silence_call(index: int, seconds: float) -> Int16Array:
    """A stereo dialogue (n, 2): turns alternate with 0.8 s pauses, line noise on both channels."""
    k = index % len(KOREAN_SENTENCES)
    frames, _ = dialogue(seconds, RATE, pause=PAUSE_S, first=index % 2,
                         sentences=KOREAN_SENTENCES[k:] + KOREAN_SENTENCES[:k])
    return _with_line_noise(frames, index)


# ---------------------------------------------------------------- decode CPU, in process


def cpu_figures(model: Path, seconds: float, warmup: Path | None) -> None:
    from assist.audio.channel import ChannelDecoder
    from assist.audio.pool import WARMUP_WAV, PoolConfig, RecognizerPool, load_warmup_audio, pool_for
    from assist.audio.recognizer import StreamRecognizer, VoskModelFactory
    from assist.audio.vad import GateConfig

    factory = VoskModelFactory(model)
    audio = mono_stream(0, seconds)
    other = mono_stream(3, seconds)  # another call: the same sentences in another order, other noise

    def per_decoded_s(recognizer: StreamRecognizer, data: Int16Array) -> tuple[float, float]:
        decoder = ChannelDecoder(recognizer, RATE, gate=GateConfig())
        for i in range(0, data.size, RATE // 10):
            decoder.feed(data[i : i + RATE // 10])
        decoder.finish()
        stats = decoder.stats
        return stats.decode_cpu_s, stats.decode_cpu_s / stats.audio_decoded_s

    rows: list[tuple[str, float, float]] = []
    rows.append(("new recognizer (as before the pool)", *per_decoded_s(factory.create(), audio)))
    if warmup is not None:
        korean = RecognizerPool(factory, PoolConfig(warm=1, max_idle=1), warm_audio=load_warmup_audio(RATE, warmup))
        warm_cpu = korean.warm_up()
        fresh = korean.create()
        rows.append((f"pooled, start-up Korean warm-up ({warm_cpu:.1f} s CPU)", *per_decoded_s(fresh, audio)))
        korean.close()
    pool = pool_for(factory, PoolConfig(warm=1, max_idle=1), warmup=WARMUP_WAV)
    assert pool is not None
    warm_cpu = pool.warm_up()
    first = pool.create()
    rows.append((f"pooled, start-up Mandarin warm-up ({warm_cpu:.1f} s CPU)", *per_decoded_s(first, audio)))
    pool.release(first)
    second = pool.create()
    per_decoded_s(second, other)
    pool.release(second)
    third = pool.create()
    rows.append(("pooled, after serving one other call", *per_decoded_s(third, audio)))
    pool.release(third)
    again = pool.create()
    rows.append(("pooled, same audio again (fully warmed)", *per_decoded_s(again, audio)))
    reference = rows[-1][2]
    korean_s = f"Korean {len(load_warmup_audio(RATE, warmup)) / 2 / RATE:.1f} s, " if warmup else ""
    print(f"\ndecode CPU of one {seconds:.0f} s half-silence mono call (voice gate on), {factory.name}; "
          f"warm-up audio {korean_s}Mandarin {len(load_warmup_audio(RATE)) / 2 / RATE:.1f} s")
    print(f"{'recognizer':52} {'CPU s':>6} {'CPU per decoded s':>18} {'x warmed':>9}")
    for label, cpu, rate in rows:
        print(f"{label:52} {cpu:6.2f} {rate:18.3f} {rate / reference:9.2f}")


# ---------------------------------------------------------------- load runs against the server


@dataclass(frozen=True, slots=True)
class PoolDelta:
    """What the server's pool did during one run and its settling (from ``/stats``)."""

    created: int
    warm_hits: int
    reused: int
    dropped: int
    retired: int
    refreshed: int
    idle: int  # after settling
    settle_s: float  # from the last call's end until the pool had settled
    settled: bool

    @classmethod
    def between(cls, before: dict[str, Any], after: dict[str, Any], settle_s: float, settled: bool) -> PoolDelta:
        def d(key: str) -> int:
            return int(after.get(key, 0)) - int(before.get(key, 0))

        return cls(d("pool_created"), d("pool_warm_hits"), d("pool_reused"), d("pool_dropped"), d("pool_retired"),
                   d("pool_refreshed"), int(after.get("pool_idle", 0)), settle_s, settled)

    def line(self) -> str:
        state = f"settled in {self.settle_s:.1f} s" if self.settled else f"NOT settled after {self.settle_s:.0f} s"
        return (f"    pool: created {self.created}, calls given a warm one {self.warm_hits} (of which reused "
                f"{self.reused}), trimmed/dropped {self.dropped}, "
                f"retired {self.retired}, refreshed {self.refreshed}, idle {self.idle}; {state}")


@dataclass(frozen=True, slots=True)
class LoadRun:
    streams: int
    words: int
    p50: float
    p95: float
    cpu_percent: float
    decode_cpu_per_decoded_s: float
    rss_peak: float
    rss_after: float
    errors: int
    pool: PoolDelta


def _start(call_id: str, channels: int) -> dict[str, Any]:
    roles = ["agent", "caller"] if channels == 2 else ["caller"]
    return {"type": "start", "call_id": call_id, "agent_id": call_id, "sample_rate": RATE,
            "channels": channels, "roles": roles}


def _settled(stats: dict[str, Any], warm: int, refresh: bool) -> bool:
    """The pool is back to its quiet state: no call holds a recognizer, at most ``warm`` idle, none grown
    (when it refreshes), and no upkeep (trim, refresh, malloc_trim) running."""
    return (stats.get("pool_in_use", 0) == 0 and stats.get("pool_idle", 0) <= warm
            and (not refresh or stats.get("pool_grown", 0) == 0) and not stats.get("pool_maintaining", False))


async def _settle(server: ServerProcess, warm: int, refresh: bool, limit_s: float = 600.0) -> tuple[float, bool]:
    """Wait until the pool has settled (``_settled``, seen twice 0.5 s apart) or ``limit_s``; returns
    (seconds waited, settled)."""
    began = time.monotonic()
    seen = False
    while time.monotonic() - began < limit_s:
        if _settled(server.stats(), warm, refresh):
            if seen:
                return time.monotonic() - began, True
            seen = True
        else:
            seen = False
        await asyncio.sleep(0.5)
    return time.monotonic() - began, False


async def load_run(server: ServerProcess, n: int, seconds: float, *, stereo: bool, tag: str, warm: int,
                   refresh: bool) -> LoadRun:
    channels = 2 if stereo else 1
    audio = [(half_silence_call(i, seconds) if stereo else mono_stream(i, seconds)).astype("<i2").tobytes()
             for i in range(n)]
    bps = RATE * 2 * channels
    before, cpu0, wall0 = server.stats(), server.cpu_s(), time.perf_counter()
    peak = [server.rss_mb()]
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(server, stop, peak))
    results = await asyncio.gather(*(
        stream_call(server.url, _start(f"{tag}-{i}", channels), data, chunk=round(bps * FRAME_S),
                    bytes_per_second=bps, limit_s=seconds + 600)
        for i, data in enumerate(audio)
    ))
    wall = time.perf_counter() - wall0
    cpu1, after = server.cpu_s(), server.stats()
    stop.set()
    await sampler
    lat: list[float] = []
    for result in results:
        lat += [x * 1000 for x in latencies(result, bps).words]
    decoded = after["channel_audio_decoded_s"] - before["channel_audio_decoded_s"]
    per_decoded = (after["decode_cpu_s"] - before["decode_cpu_s"]) / decoded if decoded else float("nan")
    errors = sum(len(r.errors) + (r.ended is None) for r in results)
    settle_s, settled = await _settle(server, warm, refresh)
    rss_after = server.rss_mb()
    pool = PoolDelta.between(before, server.stats(), settle_s, settled)
    return LoadRun(n, len(lat), percentile(lat, 50), percentile(lat, 95), 100 * (cpu1 - cpu0) / wall,
                   per_decoded, peak[0], rss_after, errors, pool)


async def load_figures(model: Path, counts: list[int], seconds: float, *, stereo: bool, warm: int,
                       refresh: bool = True, max_calls: int = 50, warmup: Path | None = None) -> None:
    os.environ.pop("ASSIST_POOL_WARMUP_AUDIO", None)
    if warmup is not None:
        os.environ["ASSIST_POOL_WARMUP_AUDIO"] = str(warmup)
    os.environ.update({"ASSIST_POOL_WARM": str(warm), "ASSIST_POOL_IDLE_SECONDS": str(IDLE_S),
                       "ASSIST_POOL_MAX": str(max(16, 2 * max(counts))), "ASSIST_POOL_REFRESH": str(int(refresh)),
                       "ASSIST_POOL_MAX_CALLS": str(max_calls)})
    server = ServerProcess(model, max_calls=max(64, 2 * max(counts)))
    try:
        for _ in range(600):  # the pool warms up in the background: up to 300 s
            if server.stats().get("pool_idle", 0) >= warm:
                break
            await asyncio.sleep(0.5)
        warm_cpu = server.stats().get("pool_warm_cpu_s", 0.0)
        short = mono_stream(0, 4.0).astype("<i2").tobytes()
        await stream_call(server.url, _start("warm-up", 1), short, chunk=3200)
        settle_s, settled = await _settle(server, warm, refresh)
        base = server.rss_mb()
        kind = "stereo calls" if stereo else "mono streams"
        print(f"\nserver ready in {server.ready_s:.1f} s; pool of {warm} warmed in {warm_cpu:.1f} s CPU; "
              f"RSS post warm-up {base:.0f} MB")
        if not settled:
            print(f"warning: the pool had not settled {settle_s:.0f} s after the short call")
        print(f"N {kind} of {seconds:.0f} s (half silence), real time, 100 ms chunks; pool idle timeout {IDLE_S:g} s, "
              f"refresh {'on' if refresh else 'off'}, max calls per recognizer {max_calls}; "
              f"warm-up speech {'Korean' if warmup else 'shipped Mandarin'}")
        print(f"{'N':>3} {'words':>6} {'p50 ms':>7} {'p95 ms':>7} {'CPU %':>6} {'CPU/decoded s':>13} "
              f"{'RSS peak':>9} {'RSS after':>9} {'after/base':>10} {'errors':>6}")
        for k, n in enumerate(counts):  # call ids unique per run: a count may be repeated (--streams 12,12)
            run = await load_run(server, n, seconds, stereo=stereo, tag=f"{'c' if stereo else 's'}{n}-{k}", warm=warm,
                                 refresh=refresh)
            print(f"{n:>3} {run.words:>6} {run.p50:>7.0f} {run.p95:>7.0f} {run.cpu_percent:>6.0f} "
                  f"{run.decode_cpu_per_decoded_s:>13.3f} {run.rss_peak:>9.0f} {run.rss_after:>9.0f} "
                  f"{run.rss_after / base:>10.2f} {run.errors:>6}")
            print(run.pool.line(), flush=True)
        stats = server.stats()
        print(f"pool in total: created {stats['pool_created']}, calls given a warm one {stats['pool_warm_hits']}, "
              f"reused {stats['pool_reused']}, "
              f"dropped {stats['pool_dropped']}, retired {stats['pool_retired']}, "
              f"refreshed {stats['pool_refreshed']}, idle {stats['pool_idle']}")
        if "learned_finals" in stats:  # the learned path: on finals, on stable partials, finals that reused one
            print(f"learned path in total: finals {stats['learned_finals']}, reused a stable partial's result "
                  f"{stats['learned_reused']}, stable partials run {stats['learned_stable_partials']}, "
                  f"left to the final (thread busy) {stats['learned_stable_busy']}")
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pool_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--cpu", action="store_true", help="decode CPU of new vs pooled recognizers (in process)")
    parser.add_argument("--streams", type=lambda v: [int(x) for x in v.split(",")], default=[],
                        help="numbers of simultaneous mono streams, e.g. 1,6,8,10,12,14")
    parser.add_argument("--calls", type=lambda v: [int(x) for x in v.split(",")], default=[],
                        help="numbers of simultaneous stereo calls (with --stereo)")
    parser.add_argument("--stereo", action="store_true", help="run --calls as stereo dialogues")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warm", type=int, default=2, help="recognizers the server warms at start-up")
    parser.add_argument("--no-refresh", action="store_true",
                        help="keep grown recognizers on a quiet floor (ASSIST_POOL_REFRESH=0)")
    parser.add_argument("--max-calls", type=int, default=50,
                        help="calls a pooled recognizer serves before it is retired (ASSIST_POOL_MAX_CALLS)")
    parser.add_argument("--warmup-seconds", type=float, default=30.0,
                        help="Korean warm-up speech for the pool (ASSIST_POOL_WARMUP_AUDIO); 0: the shipped Mandarin")
    args = parser.parse_args(argv)
    from assist.audio.models import ModelError, resolve_model_dir

    try:
        model = resolve_model_dir(args.model, os.environ)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pool-bench-") as tmp:
        warmup = warmup_wav(Path(tmp) / "warmup.wav", args.warmup_seconds) if args.warmup_seconds > 0 else None
        if args.cpu:
            cpu_figures(model, min(args.seconds, 60.0), warmup)
        if args.streams:
            asyncio.run(load_figures(model, args.streams, args.seconds, stereo=False, warm=args.warm,
                                     refresh=not args.no_refresh, max_calls=args.max_calls, warmup=warmup))
        if args.calls:
            asyncio.run(load_figures(model, args.calls, args.seconds, stereo=True, warm=args.warm,
                                     refresh=not args.no_refresh, max_calls=args.max_calls, warmup=warmup))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
