"""Demo mode: ``assist serve --no-model --demo`` replays the sample calls in a loop, pages show 演示;
``assist serve`` without a model names both ways out."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from assist.training.demo import DEMO_AGENT, run_demo, sample_calls
from assist.web.routes import DEMO_BADGE
from assist.web.server import AssistServer
from tests.support.server_process import StderrLines


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
    return body.decode()


async def _watch(port: int, subscribe: dict[str, Any], check: Callable[[dict[str, Any]], None]) -> None:
    """Subscribe to the demo server with ``subscribe`` until a transcript and a prompt came, ``check``ing each event."""
    kinds: dict[str, int] = {}
    async with connect(f"ws://127.0.0.1:{port}/ws/subscribe") as ws:
        await ws.send(json.dumps(subscribe))
        async with asyncio.timeout(60):
            while not (kinds.get("transcript") and kinds.get("prompt")):
                event = json.loads(await ws.recv())
                kinds[event["type"]] = kinds.get(event["type"], 0) + 1
                check(event)


def test_samples_are_package_data() -> None:
    names = [s.name for s in sample_calls()]
    assert names == sorted(names) and "legal-dispute" in names and len(names) >= 2
    assert all(s.lines and set(s.roles) <= {"agent", "caller"} for s in sample_calls())


async def test_run_demo_sends_every_sample_as_a_training_call() -> None:
    from assist.audio.recognizer import NoModelFactory
    from assist.settings import ServerConfig

    config = ServerConfig(host="127.0.0.1", port=0, store=False)
    async with AssistServer(config, NoModelFactory()) as server:
        events: list[dict[str, object]] = []
        ended = await run_demo(server.url + "/ws/call", speed=50.0, pause=0.0, rounds=1, on_event=events.append)
    assert ended == len(sample_calls())
    starts = [e for e in events if e.get("type") == "ready"]
    assert len(starts) == len(sample_calls()) and all(str(e["call_id"]).startswith("demo-") for e in starts)
    assert any(e.get("type") == "transcript" for e in events)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str], queue.Queue[str]]]:
    """``assist serve --no-model --demo`` on a free port, run from an empty working directory."""
    env = {**os.environ, "ASSIST_DEMO_SPEED": "20", "ASSIST_LOG_LEVEL": "INFO"}
    for name in ("ASSIST_DB", "ASSIST_TOKENS", "ASSIST_DATA_DIR", "ASSIST_AUTH"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "assist", "serve", "--no-model", "--demo", "--port", "0"],
                            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    stderr = StderrLines(proc)
    try:
        port = stderr.listening_port("the demo server", timeout=60)
        yield port, proc, stderr.lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
async def test_demo_mode_fills_the_pages(demo_server: tuple[int, subprocess.Popen[str], queue.Queue[str]],
                                         tmp_path: Path) -> None:
    port, proc, lines = demo_server

    def by_the_demo_agent(event: dict[str, Any]) -> None:
        if event["type"] in ("transcript", "prompt", "call_started"):
            assert event.get("agent_id", DEMO_AGENT) == DEMO_AGENT

    await _watch(port, {"type": "subscribe", "all": True}, by_the_demo_agent)
    for page in ("/", "/supervisor", "/history"):
        html = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}{page}")
        assert DEMO_BADGE in html and "演示" in html
    assert ".demo-badge" in await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/static/common.css")
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 20) == 0
    log = []
    while not lines.empty():
        log.append(lines.get())
    assert any("DEMO MODE (演示)" in line and f"/?agent={DEMO_AGENT}" in line for line in log)
    assert (tmp_path / "var" / "demo.sqlite3").is_file()  # demo calls stay out of var/assist.sqlite3
    assert not (tmp_path / "var" / "assist.sqlite3").exists()


@pytest.mark.slow
async def test_demo_mode_fills_the_demo_agents_overlay(demo_server: tuple[int, subprocess.Popen[str],
                                                                          queue.Queue[str]]) -> None:
    """``/?agent=demo`` subscribes by agent: the demo's calls (training replays) reach it in demo mode
    (trial 5, #20: it stayed on 等待来电 while the calls ran)."""
    port, _, _ = demo_server

    def a_demo_training_call(event: dict[str, Any]) -> None:
        if event["type"] == "call_started":
            assert event["agent_id"] == DEMO_AGENT and event["mode"] == "training"

    await _watch(port, {"type": "subscribe", "agent_id": DEMO_AGENT}, a_demo_training_call)
