"""Per-call CPU of real audio calls on a cluster node vs a single node (``bench.cluster_bench --audio``).

    .venv/bin/python -m bench.cluster_bench --audio --calls 3 --seconds 35 --rounds 3

Both set-ups run the speech model (``--model``, ``$ASSIST_MODEL`` or the newest installed one)
and are up at the same time: a local cluster (PostgreSQL, Redis, HAProxy, three nodes; node1
takes the calls) and one ``assist serve`` with SQLite and no Redis (``bench.stream_bench.ServerProcess``).
A supervisor page (``subscribe all``) is open on node1, on node2 and on the single node throughout.
Both warm the same recognizer pool (``ASSIST_POOL_WARM`` = 2 × calls; the other cluster nodes
warm none), then serve one round of short warm-up calls, so start-up and warm-up CPU are outside
the figures.  Then, ``--rounds`` times, the same N stereo dialogues
(``bench.pool_bench.half_silence_call``: espeak-ng Korean turns, 0.8 s pauses, line noise) stream
in real time in 100 ms frames to node1 and to the single node, one after the other (which goes
first alternates).  CPU = the node process's user+system time from the first call's start to the
last call's end; "decode" is the server's own decode CPU counter (/stats ``decode_cpu_s``), the
rest is everything else the node does (websockets, analysis, store, events).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from assist.ops.localcluster import LocalCluster, Node
from bench.callclient import stream_call
from bench.pool_bench import half_silence_call
from bench.stream_bench import ServerProcess

RATE = 16000
CHANNELS = 2
BYTES_PER_S = RATE * 2 * CHANNELS
FRAME_S = 0.1
WARMUP_S = 8.0  # length of the warm-up calls
T = TypeVar("T")


def http_stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Target:
    """A node under measurement: where calls go, its process and its /stats."""

    label: str
    url: str  # ws://…/ws/call
    pid: int
    stats: Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Round:
    label: str
    cpu_s: float
    decode_cpu_s: float
    finals: int
    errors: int
    load1: float  # load average (1 min) at the end of the round

    def per_call(self, n: int) -> float:
        return self.cpu_s / n


class AudioCluster(LocalCluster):
    """The local cluster with the model on every node, but a warm pool only on node1 (the measured one)."""

    warm: int = 0

    def node_env(self, node: Node) -> dict[str, str]:
        env = super().node_env(node)
        env["ASSIST_POOL_WARM"] = str(self.warm) if node is self.members[0] else "0"
        return env


async def wait_pool(target: Target, warm: int, limit_s: float = 600.0) -> None:
    """Until the pool holds ``warm`` idle recognizers and none in use (built at start-up, or trimmed back)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        stats = target.stats()
        if stats.get("pool_in_use", 0) == 0 and stats.get("pool_idle", 0) >= warm:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{target.label}: the pool did not warm up")


def start_message(call_id: str) -> dict[str, Any]:
    return {"type": "start", "call_id": call_id, "agent_id": call_id, "sample_rate": RATE,
            "channels": CHANNELS, "roles": ["agent", "caller"]}


async def run_round(target: Target, audio: list[bytes], tag: str) -> Round:
    before, cpu0 = target.stats(), cpu_seconds(target.pid)
    results = await asyncio.gather(*(
        stream_call(target.url, start_message(f"{tag}-{i}-{time.time_ns()}"), data,
                    chunk=round(BYTES_PER_S * FRAME_S), bytes_per_second=BYTES_PER_S,
                    limit_s=len(data) / BYTES_PER_S + 600)
        for i, data in enumerate(audio)
    ))
    cpu, after = cpu_seconds(target.pid) - cpu0, target.stats()
    finals = sum(len(r.transcripts(final=True)) for r in results)
    errors = sum(len(r.errors) + (r.ended is None) for r in results)
    return Round(target.label, cpu, after["decode_cpu_s"] - before["decode_cpu_s"], finals, errors,
                 os.getloadavg()[0])


async def measure(targets: list[Target], calls: int, seconds: float, rounds: int, warm: int) -> list[Round]:
    audio = [half_silence_call(i, seconds).astype("<i2").tobytes() for i in range(calls)]
    short = [half_silence_call(i, WARMUP_S).astype("<i2").tobytes() for i in range(calls)]
    for target in targets:
        await wait_pool(target, warm)
        await run_round(target, short, f"warm-{target.label}")
        await wait_pool(target, warm)
    out: list[Round] = []
    for r in range(rounds):
        for target in targets if r % 2 == 0 else targets[::-1]:  # alternate who goes first
            result = await run_round(target, audio, f"{target.label}-{r}")
            out.append(result)
            print(f"  round {r + 1} {result.label:8} CPU {result.cpu_s:6.2f} s (decode {result.decode_cpu_s:6.2f}, "
                  f"rest {result.cpu_s - result.decode_cpu_s:5.2f}) finals {result.finals:3} errors {result.errors} "
                  f"load1 {result.load1:.2f}", flush=True)
            await wait_pool(target, warm)
    return out


async def with_supervisors(urls: list[str], body: Callable[[], Awaitable[T]]) -> T:
    """A ``subscribe all`` page on each of ``urls`` while the calls run (as in the transcript bench)."""
    from bench.cluster_bench import subscriber, watch

    pages = [await subscriber(url) for url in urls]
    stop = asyncio.Event()
    seen: dict[str, float] = {}
    tasks = [asyncio.create_task(watch(ws, seen, stop)) for ws in pages]
    try:
        return await body()
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for ws in pages:
            await ws.close()


def run_audio(model: Path, calls: int, seconds: float, rounds: int) -> dict[str, Any]:
    warm = 2 * calls  # two channels per stereo call
    os.environ.update({"ASSIST_MODEL": str(model), "ASSIST_POOL_WARM": str(warm),
                       "ASSIST_POOL_MAX": str(max(16, warm)), "ASSIST_LOG_LEVEL": "WARNING"})
    root = Path(tempfile.mkdtemp(prefix="assist-bench-audio-"))
    cluster = AudioCluster(root, nodes=3, model=True, extra_args=("--log-level", "WARNING"))
    cluster.warm = warm
    single: ServerProcess | None = None
    try:
        cluster.start()
        single = ServerProcess(model, max_calls=64)
        node = cluster.members[0]
        assert node.proc is not None
        single_proc = single
        targets = [
            Target("cluster", node.url + "/ws/call", node.proc.pid, lambda: http_stats(node.port)),
            Target("single", single.url, single.proc.pid, lambda: http_stats(single_proc.port)),
        ]
        pages = [node.url, cluster.members[1].url, f"ws://127.0.0.1:{single.port}"]
        rows = asyncio.run(with_supervisors(pages, lambda: measure(targets, calls, seconds, rounds, warm)))
    finally:
        if single is not None:
            single.stop()
        cluster.stop()
    return summary(rows, calls, seconds)


def summary(rows: list[Round], calls: int, seconds: float) -> dict[str, Any]:
    cl = [r for r in rows if r.label == "cluster"]
    si = [r for r in rows if r.label == "single"]
    ratios = [c.cpu_s / s.cpu_s for c, s in zip(cl, si, strict=True)]
    rest_cl = statistics.median(r.cpu_s - r.decode_cpu_s for r in cl) / calls
    rest_si = statistics.median(r.cpu_s - r.decode_cpu_s for r in si) / calls
    return {
        "calls": calls,
        "seconds": seconds,
        "rounds": len(cl),
        "cpu_s_per_call_cluster_node": [round(r.per_call(calls), 3) for r in cl],
        "cpu_s_per_call_single_node": [round(r.per_call(calls), 3) for r in si],
        "ratio_per_round": [round(x, 3) for x in ratios],
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_of_medians": round(statistics.median(r.cpu_s for r in cl) / statistics.median(r.cpu_s for r in si), 3),
        "non_decode_cpu_s_per_call_cluster_median": round(rest_cl, 3),
        "non_decode_cpu_s_per_call_single_median": round(rest_si, 3),
        # the same audio decodes to the same work on both; what the cluster adds is outside decoding
        "ratio_same_decode": round(1 + (rest_cl - rest_si) * calls / statistics.median(r.cpu_s for r in si), 3),
        "errors": sum(r.errors for r in rows),
        "load1": [round(r.load1, 2) for r in rows],
    }
