"""The history API the dashboard pages call: search, one call, its training report."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from tests.support.live_server import LiveServer, replay
from tests.support.samples import sample_lines


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_search_call_and_report_through_http(live_server: LiveServer) -> None:
    await replay(live_server.url, "hist-1", sample_lines("legal-dispute.jsonl"))
    base = live_server.url.replace("ws://", "http://")
    status, body = await asyncio.to_thread(get, base + "/api/calls?search=%E5%85%AC%E7%A7%AF%E9%87%91")
    assert status == 200 and [c["call_id"] for c in body["calls"]] == ["hist-1"]
    status, body = await asyncio.to_thread(get, base + "/api/calls/hist-1")
    assert status == 200 and body["utterances"]
    status, body = await asyncio.to_thread(get, base + "/api/calls/hist-1/report")
    assert status == 200 and body["banned"] and any(r["number"] == "12348" for r in body["referrals"])
    status, body = await asyncio.to_thread(get, base + "/api/calls?bogus=1")
    assert status == 400 and "bogus" in body["error"]["message"]
    status, body = await asyncio.to_thread(get, base + "/api/calls/nope")
    assert status == 404
