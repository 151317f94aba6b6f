"""DecodeGate: live decode jobs go first; training replays never hold more than their share."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from assist.live.decode_gate import DecodeGate


async def _hold(gate: DecodeGate, live: bool, release: asyncio.Event, order: list[str], name: str) -> None:
    async with gate.slot(live=live):
        order.append(name)
        await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize(("slots", "share", "expected"), [(1, 0.5, 1), (2, 0.5, 1), (2, 1.0, 1), (4, 0.5, 2),
                                                           (8, 0.25, 2), (3, 0.1, 1)])
def test_training_slots(slots: int, share: float, expected: int) -> None:
    assert DecodeGate(slots, share).training_slots == expected


async def test_waiting_live_jobs_are_served_before_waiting_training_jobs() -> None:
    gate = DecodeGate(1)
    order: list[str] = []
    events = {name: asyncio.Event() for name in ("A", "B", "L1", "C", "L2")}
    tasks = []
    for name in ("A", "B", "L1", "C", "L2"):  # arrival order; A (training) gets the only slot
        tasks.append(asyncio.create_task(_hold(gate, name.startswith("L"), events[name], order, name)))
        await _settle()
    assert order == ["A"] and gate.live_waiting == 2 and gate.training_waiting == 2
    for name in ("A", "L1", "L2", "B"):
        events[name].set()
        await _settle()
    events["C"].set()
    await asyncio.gather(*tasks)
    assert order == ["A", "L1", "L2", "B", "C"]
    assert gate.in_use == 0 and gate.training_in_use == 0


async def test_training_holds_at_most_its_share_and_live_gets_the_rest_at_once() -> None:
    gate = DecodeGate(4, 0.5)
    order: list[str] = []
    release = asyncio.Event()
    training = [asyncio.create_task(_hold(gate, False, release, order, f"T{i}")) for i in range(10)]
    await _settle()
    assert gate.training_in_use == 2 and gate.in_use == 2
    live = [asyncio.create_task(_hold(gate, True, release, order, f"L{i}")) for i in range(2)]
    await _settle()
    assert gate.in_use == 4 and {"L0", "L1"} <= set(order)
    assert gate.live_waited == 0  # granted without waiting
    release.set()
    await asyncio.gather(*training, *live)
    assert len(order) == 12 and gate.in_use == 0


async def test_a_cancelled_waiter_does_not_leak_its_slot() -> None:
    gate = DecodeGate(1)
    order: list[str] = []
    first, second, third = asyncio.Event(), asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold(gate, True, first, order, "L1"))
    await _settle()
    waiter = asyncio.create_task(_hold(gate, True, second, order, "L2"))
    training = asyncio.create_task(_hold(gate, False, third, order, "T"))
    await _settle()
    waiter.cancel()
    await _settle()
    first.set()
    third.set()
    await asyncio.gather(holder, training)
    assert waiter.cancelled() and order == ["L1", "T"] and gate.in_use == 0


async def test_live_calls_are_not_starved_by_a_training_flood_on_a_real_pool() -> None:
    """Two live calls send a 2 ms job every 20 ms while 8 replays flood the pool with 10 ms jobs.

    Queued first-come-first-served, a live job would wait behind the replays'
    backlog (up to 8 jobs, 80 ms, per slot); through the gate it waits at most
    for the other live call's 2 ms job.  The bounds are in training jobs as long
    as they took in this run, so a busy machine slows both sides alike.
    """
    gate = DecodeGate(2, 0.5)
    pool = ThreadPoolExecutor(max_workers=gate.slots)
    loop = asyncio.get_running_loop()
    peak_training = 0
    live_waits: list[float] = []
    training_jobs: list[float] = []

    def decode(seconds: float) -> None:
        time.sleep(seconds)

    async def replay(jobs: int) -> None:
        nonlocal peak_training
        for _ in range(jobs):
            async with gate.slot(live=False):
                peak_training = max(peak_training, gate.training_in_use)
                began = time.monotonic()
                await loop.run_in_executor(pool, decode, 0.010)
                training_jobs.append(time.monotonic() - began)

    async def live_call(jobs: int) -> None:
        for _ in range(jobs):
            asked = time.monotonic()
            async with gate.slot(live=True):
                live_waits.append(time.monotonic() - asked)
                await loop.run_in_executor(pool, decode, 0.002)
            await asyncio.sleep(0.02)

    try:
        started = time.monotonic()
        await asyncio.gather(*(replay(20) for _ in range(8)), live_call(30), live_call(30))
        elapsed = time.monotonic() - started
    finally:
        pool.shutdown()
    assert peak_training == 1
    assert gate.granted_training == 160 and gate.granted_live == 60
    job = sorted(training_jobs)[len(training_jobs) // 2]  # one training job, as long as it took here
    assert sorted(live_waits)[len(live_waits) // 2] < job / 2  # most live jobs do not wait at all
    assert max(live_waits) < 8 * job  # never behind the replays' backlog
    # the replays were not starved either: 160 jobs on one slot, one after the other
    assert elapsed < 4 * 160 * job
