"""A real server is SIGKILLed while a call streams: every final the client received is in the database.

The server runs as a subprocess (``assist serve --no-model``) with a transcript-source call, so the
test needs no speech model; finals go through the same session, pipeline and store as recognised audio.
After the kill, ``PRAGMA integrity_check`` is ok, and a restarted server marks the call interrupted and
serves new calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.support.scripted_server import free_port

LINES = [
    {"role": "caller", "start": 0.2 + 0.8 * i, "end": 0.7 + 0.8 * i, "text": f"第 {i} 句 我 家 楼下 停水 了"}
    for i in range(60)
]


def start_server(db: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "ASSIST_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assist", "serve", "--no-model", "--port", str(port), "--db", str(db)],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}") from None
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("server did not come up") from None
            time.sleep(0.2)


async def stream_until(url: str, call_id: str, finals_wanted: int) -> list[dict[str, Any]]:
    """Stream the transcript call in real time; return the finals received once enough have arrived."""
    finals: list[dict[str, Any]] = []
    ws = await connect(url)
    await ws.send(json.dumps({"type": "start", "call_id": call_id, "agent_id": "a1", "sample_rate": 16000,
                              "roles": ["caller"], "source": "transcript", "speed": 1}))
    for line in LINES:
        await ws.send(json.dumps({"type": "line", **line}))
    async with asyncio.timeout(60):
        while len(finals) < finals_wanted:
            ev = json.loads(await ws.recv())
            if ev["type"] == "transcript" and ev["final"] and ev["text"]:
                finals.append(ev)
    return finals


@pytest.mark.slow
def test_sigkill_mid_call_loses_no_received_final(tmp_path: Path) -> None:
    db = tmp_path / "assist.sqlite3"
    port = free_port()
    proc = start_server(db, port)
    try:
        finals = asyncio.run(stream_until(f"ws://127.0.0.1:{port}/ws/call", "kill-call", 5))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = dict(con.execute("SELECT utterance_id, text FROM utterances WHERE call_id = 'kill-call'").fetchall())
    for ev in finals:
        assert stored.get(ev["utterance_id"]) == ev["text"], f"final {ev['utterance_id']} lost"
    con.close()

    proc = start_server(db, port)  # restarting continues serving on the same database
    try:
        more = asyncio.run(stream_until(f"ws://127.0.0.1:{port}/ws/call", "after-restart", 1))
        assert more
        con = sqlite3.connect(db)
        reason = con.execute("SELECT end_reason FROM calls WHERE call_id = 'kill-call'").fetchone()[0]
        assert reason == "interrupted"
        con.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
