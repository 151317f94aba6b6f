"""SIGTERM on a real ``assist serve --no-model`` process: stop accepting, flush every call's finals,
store the calls as interrupted and exit within 10 s, even with a client that stopped reading."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from assist.protocol.errors import CLOSE_GOING_AWAY
from bench.callclient import CallResult, collect
from tests.support.scripted_server import free_port, start_msg
from tests.support.silent_client import SilentClient

LINES = [  # released on the audio clock at real time: only the first is due before SIGTERM
    {"type": "line", "role": "agent", "start": 0.0, "end": 0.6, "text": "您好 请讲"},
    {"type": "line", "role": "caller", "start": 1.0, "end": 30.0, "text": "我 家 停水 了"},
    {"type": "line", "role": "agent", "start": 31.0, "end": 40.0, "text": "好的 我 帮 您 登记"},
]
# shorter than the default 8 s: the bound below then leaves a busy machine 6 s for the exit itself
GRACE = 4.0
TRANSCRIPT = {"channels": 2, "roles": ["agent", "caller"], "source": "transcript", "speed": 1}


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.read() == b"ok\n")
    except OSError:
        return False


async def wait_until_up(proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while not await asyncio.to_thread(healthy, port):
        assert proc.returncode is None, f"the server exited: see {log}"
        assert time.monotonic() < deadline, "server did not come up"
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_sigterm_flushes_calls_stores_them_interrupted_and_exits_within_10_s(tmp_path: Path) -> None:
    port, db = free_port(), tmp_path / "calls.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSIST_")} | {"ASSIST_ANALYSIS": "off"}
    log_file = tmp_path / "server.log"
    with log_file.open("w") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assist", "serve", "--no-model", "--port", str(port), "--db", str(db),
            "--tokens", str(tmp_path / "no-tokens.toml"), "--json-logs", "--shutdown-grace", str(GRACE),
            stderr=stderr, env=env,
        )
    try:
        await wait_until_up(proc, port, log_file)
        url = f"ws://127.0.0.1:{port}/ws/call"
        result = CallResult()
        ws = await connect(url)
        await ws.send(json.dumps(start_msg("polite", **TRANSCRIPT)))
        reader = asyncio.create_task(collect(ws, result))
        for line in LINES:
            await ws.send(json.dumps(line))
        stuck = await SilentClient.open("127.0.0.1", port)  # never reads again, never answers pings
        await stuck.send_json(start_msg("stuck", **TRANSCRIPT))
        await stuck.send_json(LINES[0])
        deadline = time.monotonic() + 10
        while not result.final_texts():  # the first line's final is out: the call is under way
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await asyncio.wait_for(proc.wait(), 15)
        took = time.monotonic() - signalled
        # the stuck client holds the stop for the grace at most; the rest is the process's own exit
        assert code == 0 and took < GRACE + 6, took
        await asyncio.wait_for(reader, 5)
        stuck.close()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = log_file.read_text()
    # the polite client got every line's final (the replay is released at once), then ended, then 1001
    assert result.final_texts() == [line["text"] for line in LINES]
    assert result.ended is not None and result.ended["summary"]["reason"] == "interrupted"
    assert result.close_code == CLOSE_GOING_AWAY
    with sqlite3.connect(db) as conn:
        calls = dict(conn.execute("SELECT call_id, end_reason FROM calls").fetchall())
        texts = [r[0] for r in conn.execute("SELECT text FROM utterances WHERE call_id = 'polite' ORDER BY start")]
        stuck_texts = [r[0] for r in conn.execute("SELECT text FROM utterances WHERE call_id = 'stuck'")]
    assert calls == {"polite": "interrupted", "stuck": "interrupted"}
    assert texts == [line["text"] for line in LINES] and stuck_texts == [LINES[0]["text"]]
    # JSON lines logs, with the call ids and reasons, and no transcript text
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert entries and all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
    assert any(e.get("call_id") == "polite" and e.get("reason") == "interrupted" for e in entries)
    assert "AUTHENTICATION IS OFF" in log and "停水" not in log


async def test_no_new_connections_while_stopping() -> None:
    """Covered in-process: once ``stop`` begins, the listening socket is closed."""
    from assist.audio.recognizer import ScriptedFactory
    from assist.settings import ServerConfig
    from assist.web.server import AssistServer
    from tests.support.scripted_server import SCRIPT_A

    server = AssistServer(ServerConfig(host="127.0.0.1", port=0, shutdown_grace=2), ScriptedFactory((SCRIPT_A,)))
    await server.start()
    url = server.url
    held = await connect(url + "/ws/call")
    await held.send(json.dumps(start_msg("held")))
    await held.recv()
    stopping = asyncio.create_task(server.stop())
    await asyncio.sleep(0.05)
    with pytest.raises((OSError, InvalidStatus)):
        await connect(url + "/ws/call", open_timeout=2)
    await stopping
    await held.close()
