"""What a cluster node's shared parts cost it in CPU: per store write and per published event.

    .venv/bin/python -m bench.cluster_overhead --writes 2000 --events 4000 --rounds 3

In one process, against a real PostgreSQL and Redis (``assist.ops.services``, started here):

* **store write**: ``add_utterance`` awaited one after another (so each is its own commit batch,
  as most finals are on a node), on ``PostgresStore`` and on the SQLite ``Store``;
* **event**: transcript events published on a ``ClusterHub`` with its ``EventBus`` running
  (sender and reader), one every ``--gap-ms`` (each then goes out alone, as most events do at
  tens of calls), against a plain ``Hub``; one local page on each hub encodes every event.

CPU = ``time.process_time()`` of this process (every thread: aiosqlite's worker included), so the
figures are this client's side only, as on a node, and far less disturbed by other load on the
machine than a whole-server run.  The rounds alternate the set-ups; medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from assist.live.bus import ClusterHub, EventBus
from assist.live.hub import Hub, Subscriber
from assist.ops.services import Postgres, Redis
from assist.protocol.enums import Role
from assist.protocol.events import Transcript, Word
from assist.store.base import CallStore
from assist.store.db import Store
from assist.store.postgres import PostgresStore

TEXT = "我 都 打 了 三 次 了 楼下 工地 半夜 还在 施工 吵 得 根本 睡 不 着"


def transcript(i: int, final: bool) -> Transcript:
    words = tuple(Word(w, k * 0.3, k * 0.3 + 0.25, 1.0) for k, w in enumerate(TEXT.split()))
    return Transcript(call_id="bench-call", role=Role.CALLER, utterance_id=f"caller-{i}", final=final,
                      text=TEXT.replace(" ", ""), start=0.0, end=5.4, words=words)


async def cpu_of(body: Callable[[], Awaitable[int]]) -> float:
    """CPU seconds per unit of work (``body`` returns how many units it did)."""
    cpu0 = time.process_time()
    units = await body()
    return (time.process_time() - cpu0) / units


async def store_writes(store: CallStore, n: int, tag: str) -> int:
    call = f"{tag}-{time.time_ns()}"
    await store.start_call(call, "bench", time.time())
    for i in range(n):
        t = transcript(i, True)
        await store.add_utterance(call, t.role, t.utterance_id, t.text, t.start, t.end, t.words)
    return n


async def page(sub: Subscriber) -> None:
    """A supervisor page's socket: each event encoded (``Outbox``), not sent."""
    while (event := await sub.get()) is not None:
        event.to_json()


async def publish(hub: Hub, n: int, gap_s: float) -> int:
    for i in range(n):
        hub.publish(transcript(i, i % 8 == 7), call_id="bench-call", agent_id="bench")
        await asyncio.sleep(gap_s)
    await asyncio.sleep(0.2)  # the sender, the reader and the page finish
    return n


async def run(pg_url: str, redis_url: str, root: Path, writes: int, events: int, gap_s: float,
              rounds: int) -> dict[str, object]:
    pg = await PostgresStore.open(pg_url)
    lite = await Store.open(root / "bench.sqlite3")
    plain = Hub()
    cluster = ClusterHub()
    bus = EventBus(redis_url, "bench-node", cluster)
    await bus.start()
    pages = [asyncio.create_task(page(hub.subscribe())) for hub in (plain, cluster)]
    figures: dict[str, list[float]] = {"pg_write": [], "sqlite_write": [], "bus_event": [], "hub_event": []}
    try:
        await store_writes(pg, 50, "warm")
        await store_writes(lite, 50, "warm")
        await publish(cluster, 100, gap_s)
        await publish(plain, 100, gap_s)
        for r in range(rounds):
            steps: list[tuple[str, Callable[[], Awaitable[int]]]] = [
                ("pg_write", lambda: store_writes(pg, writes, "pg")),
                ("sqlite_write", lambda: store_writes(lite, writes, "lite")),
                ("bus_event", lambda: publish(cluster, events, gap_s)),
                ("hub_event", lambda: publish(plain, events, gap_s)),
            ]
            for name, body in steps if r % 2 == 0 else steps[::-1]:
                figures[name].append(await cpu_of(body))
    finally:
        await bus.stop()
        for task in pages:
            task.cancel()
        await pg.close()
        await lite.close()
    out: dict[str, object] = {k: round(statistics.median(v) * 1e6, 1) for k, v in figures.items()}
    out["unit"] = "µs CPU per write / per event (median of rounds)"
    out["per_round"] = {k: [round(x * 1e6, 1) for x in v] for k, v in figures.items()}
    out["bus_sent"], out["bus_received"] = bus.stats.sent, bus.stats.received
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--gap-ms", type=float, default=2.0, help="pause between published events")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="assist-overhead-"))
    root.chmod(0o755)  # PostgreSQL runs as another user
    postgres, redis = Postgres(root / "postgres"), Redis(root / "redis")
    try:
        postgres.start()
        redis.start()
        result = asyncio.run(run(postgres.url, redis.url, root, args.writes, args.events, args.gap_ms / 1000,
                                 args.rounds))
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
