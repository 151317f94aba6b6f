"""Store durability latency and redaction speed.

    python -m bench.store_bench [--calls 50] [--utterances 20] [--rate 1.0] [--synchronous NORMAL|FULL]

1. Commit latency: ``--calls`` simulated calls run at once, each producing final
   utterances at ``--rate`` per second (two roles), and every utterance is written
   with ``await store.add_utterance`` exactly as the session does when a final is
   recognised.  The time from the call to its return is the time from
   "recognised" to "committed" (the issue's bound: 1 s).  Printed: p50/p95/p99/max.
2. Burst: the same number of calls writing back to back (no pauses): throughput
   and latency when the disk is the bottleneck.
3. Redaction: mean and p99 time of ``Redactor.redact`` over real sentences
   (``refs.tsv`` of the shared speech set, if present) and utterances with
   spoken and written numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from assist.protocol.enums import EndReason, Role
from assist.store.db import Store
from assist.store.privacy import Redactor

SAMPLES = [
    "您好，这里是12345市民服务热线，请问有什么可以帮您",
    "我 的 手 机 号 是 幺 三 八 幺 二 三 四 五 六 七 八 你 们 记 一 下",
    "身份证号码是幺幺零幺零五幺九四九幺二三幺零零二叉",
    "我家楼下的饭店每天晚上都很吵油烟也很大已经反映过好几次了",
    "卡号6228480012345678907扣了我三千五百块钱",
    "请拨打12348法律服务热线咨询",
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(name: str, latencies: list[float], seconds: float) -> None:
    ms = [v * 1000 for v in latencies]
    print(
        f"{name}: {len(ms)} utterances in {seconds:.1f} s ({len(ms) / seconds:.0f}/s); commit latency ms "
        f"p50 {_pct(ms, 0.5):.2f}  p95 {_pct(ms, 0.95):.2f}  p99 {_pct(ms, 0.99):.2f}  max {max(ms):.2f}"
    )


async def _calls(store: Store, calls: int, per_call: int, rate: float | None, tag: str) -> tuple[list[float], float]:
    latencies: list[float] = []
    rng = random.Random(7)

    async def one(c: int) -> None:
        call_id = f"{tag}-{c}"
        await store.start_call(call_id, f"agent-{c}", time.time())
        if rate:
            await asyncio.sleep(rng.uniform(0, 1 / rate))
        for i in range(per_call):
            text = SAMPLES[(c + i) % len(SAMPLES)]
            t0 = time.perf_counter()
            await store.add_utterance(call_id, (Role.AGENT, Role.CALLER)[i % 2], f"u{i}", text, i * 2.0, i * 2.0 + 1.5)
            latencies.append(time.perf_counter() - t0)
            if rate:
                await asyncio.sleep(rng.expovariate(rate))
        await store.end_call(call_id, time.time(), EndReason.COMPLETED)

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(calls)))
    return latencies, time.perf_counter() - start


def _redaction(red: Redactor) -> None:
    texts = list(SAMPLES)
    refs = Path(os.environ.get("ASSIST_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    tsv = refs / "speech" / "real" / "refs.tsv"
    if tsv.is_file():
        texts += [line.split("\t", 1)[1] for line in tsv.read_text(encoding="utf-8").splitlines() if "\t" in line]
    times: list[float] = []
    for _ in range(20):
        for text in texts:
            t0 = time.perf_counter()
            red.redact(text)
            times.append(time.perf_counter() - t0)
    us = [t * 1e6 for t in times]
    print(
        f"redaction: {len(texts)} texts x 20: mean {statistics.fmean(us):.1f} us  "
        f"p99 {_pct(us, 0.99):.1f} us  max {max(us):.1f} us"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--utterances", type=int, default=20, help="per call")
    parser.add_argument("--rate", type=float, default=1.0, help="utterances per second per call")
    parser.add_argument("--synchronous", default="NORMAL", choices=("NORMAL", "FULL"))
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.sqlite3"
        store = await Store.open(path, synchronous=args.synchronous)
        try:
            print(f"store {path} {await store.durability()}")
            lat, secs = await _calls(store, args.calls, args.utterances, args.rate, "paced")
            _report(f"paced ({args.calls} calls, {args.rate}/s each)", lat, secs)
            lat, secs = await _calls(store, args.calls, args.utterances, None, "burst")
            _report(f"burst ({args.calls} calls back to back)", lat, secs)
        finally:
            await store.close()
    _redaction(Redactor())


if __name__ == "__main__":
    asyncio.run(main())
