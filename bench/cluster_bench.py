"""Cluster benchmark: cross-node event latency at N calls, and per-call CPU in a cluster vs one node.

    .venv/bin/python -m bench.cluster_bench --calls 20 --speed 2
    .venv/bin/python -m bench.cluster_bench --audio --calls 3 --seconds 35 --rounds 3

Starts a local cluster (PostgreSQL, Redis, HAProxy, three ``--no-model`` nodes; assist.ops.localcluster),
streams N transcript-source calls (assist/training/samples/noise-complaint.jsonl) to node1, with one
supervisor on node1 and one on node2.  Added latency of an event = its arrival at node2's
supervisor minus its arrival at node1's (same machine clock).  A single node (SQLite, no Redis,
one supervisor) is up at the same time; after one warm-up round on each, ``--rounds`` times the
same N calls go to node1 and to the single node, one after the other (which goes first
alternates), so both see the same machine load.  CPU = the node process's user+system time over
a round.

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


async def transcript_rounds(
    c: LocalCluster, single: subprocess.Popen[bytes], single_url: str, n: int, speed: float, rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """``rounds`` × (N calls on node1, N calls on the single node), alternating which goes first.

    Supervisors on node1, node2 and the single node throughout; the added latency is node2's
    arrival minus node1's, over every cluster round.  Returns (added ms, cluster CPU s per round,
    single CPU s per round)."""
    node = c.members[0]
    assert node.proc is not None
    urls = [node.url, c.members[1].url, single_url]
    pages = [await subscriber(url) for url in urls]
    seen: list[dict[str, float]] = [{}, {}, {}]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(watch(ws, got, stop)) for ws, got in zip(pages, seen, strict=True)]
    targets = [("cluster", node.url, node.proc.pid), ("single", single_url, single.pid)]
    cpu: dict[str, list[float]] = {"cluster": [], "single": []}
    await run_calls(node.url, n, speed, "warm-cl")  # first calls load lazy parts (analysis, statements)
    await run_calls(single_url, n, speed, "warm-single")
    for r in range(rounds):
        for label, url, pid in targets if r % 2 == 0 else targets[::-1]:
            cpu0 = cpu_seconds(pid)
            await run_calls(url, n, speed, f"{label}{r}")
            cpu[label].append(cpu_seconds(pid) - cpu0)
            print(f"  round {r + 1} {label:8} CPU {cpu[label][-1]:6.2f} s, {cpu[label][-1] / n:.4f} s per call, "
                  f"load1 {os.getloadavg()[0]:.2f}", flush=True)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks)
    local, remote = seen[0], seen[1]
    added = [(remote[k] - t) * 1000 for k, t in local.items() if k in remote and not k.startswith("warm")]
    missing = sum(1 for k in local if k not in remote)
    if missing:
        print(f"  {missing} event(s) seen locally but not on the other node (partials coalesced)")
    return added, cpu["cluster"], cpu["single"]


def start_single(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ASSIST_AUTH": "off"}
    env.pop("ASSIST_REDIS_URL", None)
    env.pop("ASSIST_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "assist", "serve", "--no-model", "--port", str(port),
         "--db", str(root / "single.sqlite3"), "--log-level", "WARNING"], env=env)
    wait_port(port, 60, proc)
    return proc, f"ws://127.0.0.1:{port}"


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
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per set-up")
    args = parser.parse_args()
    if args.audio:
        from assist.audio.models import resolve_model_dir
        from bench.cluster_audio import run_audio

        model = resolve_model_dir(args.model, os.environ)
        print(json.dumps(run_audio(model, args.calls or 3, args.seconds, args.rounds), indent=2))
        return 0
    args.calls = args.calls or 20
    root = Path(tempfile.mkdtemp(prefix="assist-bench-"))
    c = LocalCluster(root, nodes=3, extra_args=("--log-level", "WARNING"))
    single: subprocess.Popen[bytes] | None = None
    try:
        c.start()
        single, single_url = start_single(root)
        added, cl, si = asyncio.run(transcript_rounds(c, single, single_url, args.calls, args.speed, args.rounds))
    finally:
        if single is not None:
            single.terminate()
            single.wait(30)
        c.stop()
    shutil.rmtree(root, ignore_errors=True)
    ratios = [a / b for a, b in zip(cl, si, strict=True)]
    result: dict[str, Any] = {
        "calls": args.calls,
        "speed": args.speed,
        "rounds": args.rounds,
        "events_compared": len(added),
        "added_latency_ms_p50": round(statistics.median(added), 2) if added else None,
        "added_latency_ms_p95": round(pct(added, 0.95), 2) if added else None,
        "added_latency_ms_max": round(max(added), 2) if added else None,
        "cpu_s_per_call_cluster_node": [round(x / args.calls, 4) for x in cl],
        "cpu_s_per_call_single_node": [round(x / args.calls, 4) for x in si],
        "ratio_per_round": [round(x, 3) for x in ratios],
        "ratio_median": round(statistics.median(ratios), 3),
        "extra_cpu_s_per_call_median": round(statistics.median(a - b for a, b in zip(cl, si, strict=True))
                                             / args.calls, 4),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
