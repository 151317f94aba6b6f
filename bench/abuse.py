"""Flood and hoarding attacks against a real ``assist serve --no-model``, beside a quiet run.

Two honest agents stream transcript-source calls at real time.  In the attack
run, at the same time, one agent token floods three calls with 2,000-character
lines (and lines at the length cap) and another tries to hoard every call and
subscriber slot (64 idle calls, 256 idle subscriptions).  Printed: the honest
calls' transcript latency (arrival minus the word's due time on the call clock),
``/healthz`` latency, and what the attackers got.  Target: the attack run's p95
within 1.5x of the quiet run's.

    .venv/bin/python -m bench.abuse [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from assist.web.auth import Role, TokenStore

HONEST_LINES = [
    "您好 这里 是 市民 热线 请问 有 什么 可以 帮 您",
    "我 家 小区 停水 三天 了 一直 没有 人 来 修",
    "好的 请问 您 家 的 具体 地址 是 哪里",
    "城东 街道 幸福 小区 三 号楼 二 单元",
    "我们 马上 联系 自来水 公司 派 人 去 看 一下",
    "谢谢 你们 尽快 处理 一下 老人 孩子 都 没 水 喝",
]
FLOOD = ("我家楼下的水管破了好几天了一直没人来修" * 120)[:2000]
ENDPOINT_DELAY = 0.3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


async def honest_call(url: str, token: str, agent: str, call_id: str) -> list[float]:
    lags: list[float] = []
    start = {"type": "start", "call_id": call_id, "agent_id": agent, "sample_rate": 16000, "channels": 2,
             "roles": ["agent", "caller"], "source": "transcript", "speed": 1}
    async with connect(url + "/ws/call", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps(start))
        assert json.loads(await ws.recv())["type"] == "ready"
        t0 = time.monotonic()
        for n, text in enumerate(HONEST_LINES):
            role = "agent" if n % 2 == 0 else "caller"
            await ws.send(json.dumps({"type": "line", "role": role, "start": 3.0 * n, "end": 3.0 * n + 2.5,
                                      "text": text}))
        await ws.send(json.dumps({"type": "end"}))
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "transcript":
                due = event["end"] + (ENDPOINT_DELAY if event["final"] else 0.0)
                lags.append(time.monotonic() - t0 - due)
            elif event["type"] == "ended":
                break
    return lags


async def flood_call(url: str, token: str, n: int, cap: int) -> list[str]:
    codes: list[str] = []
    start = {"type": "start", "call_id": f"flood-{n}", "agent_id": "X1", "sample_rate": 16000,
             "roles": ["caller"], "source": "transcript", "speed": 1}
    try:
        async with connect(url + "/ws/call", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.send(json.dumps(start))
            for k in range(5):
                for text in (FLOOD, FLOOD[:cap]):
                    await ws.send(json.dumps({"type": "line", "role": "caller", "start": 3.0 * k,
                                              "end": 3.0 * k + 2.9, "text": text}))
            await ws.send(json.dumps({"type": "end"}))
            async for message in ws:
                event = json.loads(message)
                if event["type"] == "error":
                    codes.append(event["code"])
    except ConnectionClosed:
        pass
    return codes


async def hoard(url: str, token: str, held: list[ClientConnection]) -> dict[str, int]:
    got = {"calls": 0, "calls_refused": 0, "subscriptions": 0, "subscriptions_refused": 0}
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(64):
        try:
            ws = await connect(url + "/ws/call", additional_headers=headers)
        except InvalidStatus:
            got["calls_refused"] += 1
            continue
        await ws.send(json.dumps({"type": "start", "call_id": f"hoard-{n}", "agent_id": "X2", "sample_rate": 16000,
                                  "roles": ["caller"], "source": "transcript", "speed": 1}))
        reply = json.loads(await ws.recv())
        got["calls" if reply["type"] == "ready" else "calls_refused"] += 1
        held.append(ws)
    for _ in range(256):
        ws = await connect(url + "/ws/subscribe", additional_headers=headers)
        await ws.send(json.dumps({"type": "subscribe", "agent_id": "X2"}))
        reply = json.loads(await ws.recv())
        got["subscriptions" if reply["type"] == "subscribed" else "subscriptions_refused"] += 1
        held.append(ws)
    return got


async def healthz(port: int, stop: asyncio.Event, out: list[float]) -> None:
    def one() -> float:
        t = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            response.read()
        return time.monotonic() - t

    while not stop.is_set():
        out.append(await asyncio.to_thread(one))
        await asyncio.sleep(0.5)


async def run(port: int, tokens: dict[str, str], attack: bool) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}"
    stop = asyncio.Event()
    health: list[float] = []
    poller = asyncio.create_task(healthz(port, stop, health))
    held: list[ClientConnection] = []
    attackers: list[asyncio.Task[Any]] = []
    hoarded: dict[str, int] = {}
    if attack:
        attackers = [asyncio.create_task(flood_call(url, tokens["X1"], n, 400)) for n in range(3)]
        hoarded = await hoard(url, tokens["X2"], held)
    calls = [honest_call(url, tokens["A1"], "A1", f"honest-1-{int(attack)}"),
             honest_call(url, tokens["A2"], "A2", f"honest-2-{int(attack)}")]
    lags = [lag for one in await asyncio.gather(*calls) for lag in one]
    stop.set()
    await poller
    flood_codes = [c for codes in await asyncio.gather(*attackers) for c in codes]
    for ws in held:
        with contextlib.suppress(Exception):
            await ws.close()
    return {"lags": lags, "health": health, "hoarded": hoarded, "flood_codes": flood_codes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="server port (0: a free one)")
    args = parser.parse_args(argv)
    port = args.port or _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        store = TokenStore(path=Path(tmp) / "tokens.toml")
        tokens = {name: store.issue(Role.AGENT, name, 3600)[0] for name in ("A1", "A2", "X1", "X2")}
        store.save()
        env = {**os.environ, "ASSIST_DB": str(Path(tmp) / "calls.sqlite3"), "ASSIST_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen(
            [sys.executable, "-m", "assist", "serve", "--no-model", "--port", str(port), "--tokens",
             str(store.path), "--auth", "on"], env=env,
        )
        try:
            for _ in range(300):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                    break
                time.sleep(0.1)
            quiet = asyncio.run(run(port, tokens, attack=False))
            attacked = asyncio.run(run(port, tokens, attack=True))
        finally:
            server.terminate()
            server.wait(30)
    print(f"{'run':<10} {'events':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'healthz p95 s':>14}")
    for name, result in (("quiet", quiet), ("attacked", attacked)):
        lags = result["lags"]
        print(f"{name:<10} {len(lags):>6} {statistics.median(lags):>7.3f} {_p95(lags):>7.3f} {max(lags):>7.3f} "
              f"{_p95(result['health']):>14.3f}")
    ratio = _p95(attacked["lags"]) / max(_p95(quiet["lags"]), 1e-3)
    print(f"p95 ratio attacked/quiet: {ratio:.2f} (target <= 1.5)")
    print(f"hoarding agent got: {attacked['hoarded']}")
    codes = attacked["flood_codes"]
    print(f"flood errors: {({c: codes.count(c) for c in set(codes)})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
