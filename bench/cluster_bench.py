"""Cluster benchmark: cross-node event latency at N calls, and per-call CPU in a cluster vs one node.

    .venv/bin/python -m bench.cluster_bench --calls 20 --speed 2
    .venv/bin/python -m bench.cluster_bench --audio --calls 3 --seconds 35 --rounds 3

Starts a local cluster (PostgreSQL, Redis, HAProxy, three ``--no-model`` nodes; assist.ops.localcluster),
streams N transcript-source calls (assist/training/samples/noise-complaint.jsonl) to node1, with one
supervisor on node1 and one on node2.  Added latency of an event = its arrival at node2's
supervisor minus its arrival at node1's (same machine clock).  Then the same N calls on a
single node (SQLite, no Redis).  CPU = the node process's user+system time over the run.

``--audio``: real stereo audio calls decoded by the speech model instead, on a cluster node and on a
single node, in alternating rounds after the same pool warm-up (``bench.cluster_audio``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from assist.ops.localcluster import LocalCluster
from assist.ops.services import free_port, wait_port

SAMPLE = Path(__file__).resolve().parents[1] / "assist" / "training" / "samples" / "noise-complaint.jsonl"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def call(url: str, call_id: str, speed: float) -> None:
    lines = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
    async with connect(url + "/ws/call") as ws:
        await ws.send(json.dumps({"type": "start", "call_id": call_id, "agent_id": "bench", "sample_rate": 16000,
                                  "channels": 2, "roles": ["agent", "caller"], "source": "transcript",
                                  "speed": speed, "mode": "training"}))
        for line in lines:
            await ws.send(json.dumps({"type": "line", **line}))
        await ws.send(json.dumps({"type": "end"}))
        async for raw in ws:
            if json.loads(raw)["type"] == "ended":
                return


async def watch(ws: ClientConnection, seen: dict[str, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            raw = await asyncio.wait_for(ws.recv(), 0.5)
        except TimeoutError:
            continue
        now = time.perf_counter()
        e = json.loads(raw)
        if e["type"] == "transcript":
            seen.setdefault(f"{e['call_id']}|{e['utterance_id']}|{e['final']}|{e['text']}", now)


async def subscriber(url: str) -> ClientConnection:
    ws = await connect(url + "/ws/subscribe", max_queue=None)
    await ws.send(json.dumps({"type": "subscribe", "all": True}))
    await ws.recv()
    return ws


async def run_calls(url: str, n: int, speed: float, tag: str) -> None:
    await asyncio.gather(*(call(url, f"{tag}-{i}-{time.time_ns()}", speed) for i in range(n)))


async def cluster_run(c: LocalCluster, n: int, speed: float) -> tuple[list[float], float]:
    local, remote = await subscriber(c.members[0].url), await subscriber(c.members[1].url)
    seen_local: dict[str, float] = {}
    seen_remote: dict[str, float] = {}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(watch(local, seen_local, stop)), asyncio.create_task(watch(remote, seen_remote, stop))]
    node = c.members[0]
    assert node.proc is not None
    cpu0 = cpu_seconds(node.proc.pid)
    await run_calls(node.url, n, speed, "cl")
    cpu = cpu_seconds(node.proc.pid) - cpu0
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks)
    added = [(seen_remote[k] - t) * 1000 for k, t in seen_local.items() if k in seen_remote]
    missing = len(seen_local) - len(added)
    if missing:
        print(f"  {missing} event(s) seen locally but not on the other node (partials coalesced)")
    return added, cpu


async def single_run(root: Path, n: int, speed: float) -> float:
    port = free_port()
    env = {**os.environ, "ASSIST_AUTH": "off"}
    proc = subprocess.Popen(  # noqa: ASYNC220 - starting a child is quick
        [sys.executable, "-m", "assist", "serve", "--no-model", "--port", str(port),
         "--db", str(root / "single.sqlite3"), "--log-level", "WARNING"], env=env)
    try:
        wait_port(port, 60, proc)
        sub = await subscriber(f"ws://127.0.0.1:{port}")
        seen: dict[str, float] = {}
        stop = asyncio.Event()
        task = asyncio.create_task(watch(sub, seen, stop))
        cpu0 = cpu_seconds(proc.pid)
        await run_calls(f"ws://127.0.0.1:{port}", n, speed, "single")
        cpu = cpu_seconds(proc.pid) - cpu0
        stop.set()
        await task
        return cpu
    finally:
        proc.terminate()
        proc.wait(30)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=None, help="simultaneous calls (20; 3 with --audio)")
    parser.add_argument("--speed", type=float, default=2.0, help="replay speed of each call (1 = real time)")
    parser.add_argument("--audio", action="store_true", help="real audio calls through the speech model")
    parser.add_argument("--model", type=Path, help="speech model (--audio; default $ASSIST_MODEL or installed)")
    parser.add_argument("--seconds", type=float, default=35.0, help="length of each audio call (--audio)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per set-up (--audio)")
    args = parser.parse_args()
    if args.audio:
        from assist.audio.models import resolve_model_dir
        from bench.cluster_audio import run_audio

        model = resolve_model_dir(args.model, os.environ)
        print(json.dumps(run_audio(model, args.calls or 3, args.seconds, args.rounds), indent=2))
        return 0
    args.calls = args.calls or 20
    root = Path(tempfile.mkdtemp(prefix="assist-bench-"))
    c = LocalCluster(root, nodes=3)
    try:
        c.start()
        added, cpu_cluster = asyncio.run(cluster_run(c, args.calls, args.speed))
    finally:
        c.stop()
    cpu_single = asyncio.run(single_run(root, args.calls, args.speed))
    shutil.rmtree(root, ignore_errors=True)
    result: dict[str, Any] = {
        "calls": args.calls,
        "speed": args.speed,
        "events_compared": len(added),
        "added_latency_ms_p50": round(statistics.median(added), 2) if added else None,
        "added_latency_ms_p95": round(pct(added, 0.95), 2) if added else None,
        "added_latency_ms_max": round(max(added), 2) if added else None,
        "cpu_s_per_call_cluster_node": round(cpu_cluster / args.calls, 4),
        "cpu_s_per_call_single_node": round(cpu_single / args.calls, 4),
        "cluster_vs_single": round(cpu_cluster / cpu_single, 3) if cpu_single else None,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
