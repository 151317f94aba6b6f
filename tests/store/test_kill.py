"""Crash safety: a process writing through Store is SIGKILLed at a random moment.

Every utterance it reported as written (printed after ``add_utterance`` returned)
must be in the database, ``PRAGMA integrity_check`` must say ok, and the next
process must open the same file, close the interrupted call and carry on.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assist.store.db import Store

WRITER = Path(__file__).with_name("kill_writer.py")
REPO = Path(__file__).resolve().parents[2]
CALL_ID = "call-kill-1"
ROUNDS = 3


def _run_and_kill(db: Path, round_no: int, delay: float) -> tuple[str, list[str]]:
    """Start the writer, SIGKILL it ``delay`` s after it is ready; return its ready line and reported ids."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), CALL_ID, str(round_no)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(30):
            proc.kill()
            stderr = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"the writer did not start: {stderr}")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
        if proc.stderr:
            proc.stderr.close()
    complete = [ln.decode() for ln in lines if ln.endswith(b"\n")]  # a line cut by the kill does not count
    ok = [ln.split()[1] for ln in complete if ln.startswith("ok ")]
    return complete[0], ok


async def test_sigkill_loses_nothing_reported_and_the_next_process_carries_on(tmp_path: Path) -> None:
    db = tmp_path / "kill.sqlite3"
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    reported: list[str] = []
    for round_no in range(ROUNDS):
        delay = rng.uniform(0.1, 0.6)
        where = f"seed={seed} round={round_no} delay={delay:.3f}s"
        ready, ok = _run_and_kill(db, round_no, delay)
        assert ok, f"nothing was written before the kill ({where})"
        if round_no > 0:
            assert ready.split()[1:] == [f"interrupted={CALL_ID}", "resumed=True"], where
        reported += ok
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
            stored = {r[0]: r[1] for r in conn.execute("SELECT utterance_id, text FROM utterances")}
            open_calls = conn.execute("SELECT call_id FROM calls WHERE ended_at IS NULL").fetchall()
        missing = [uid for uid in reported if uid not in stored]
        assert not missing, f"{len(missing)} reported utterances lost, e.g. {missing[:3]} ({where})"
        assert open_calls == [(CALL_ID,)], where  # killed mid-call: still open
        assert all("138****5678" in t and "幺 三 八" not in t for t in stored.values())

    # restart: the same file serves the next process
    async with await Store.open(db) as store:
        assert await store.integrity_check() == "ok"
        assert await store.mark_open_calls_interrupted() == [CALL_ID]
        assert await store.start_call(CALL_ID, "agent-7", time.time()) is True
        await store.add_utterance(CALL_ID, "caller", "after-restart", "还在吗", 999.0, 1000.0)
        await store.end_call(CALL_ID, time.time(), "completed")
        data = await store.get_call(CALL_ID)
    assert data["call"]["end_reason"] == "completed"
    assert data["call"]["resumes"] == ROUNDS
    ids = {u["utterance_id"] for u in data["utterances"]}
    assert set(reported) | {"after-restart"} <= ids
