"""The history page on trial 5's calls (tests/data/trial5, CC0), replayed through the real server as a trainer
runs them (`assist replay ... --speed max`): the list's 时长 is the call's audio duration (1:05), not the
fraction of a second the replay took (#21), and 12345 reads as one number in the transcript (#22)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.pages import DESKTOP_VIEWPORT, NewPage, tid
from tests.support.real_server import RealServer

pytestmark = pytest.mark.browser

TRIAL5 = Path(__file__).resolve().parents[2] / "data" / "trial5"


def lines(name: str) -> list[dict[str, object]]:
    return [json.loads(t) for t in (TRIAL5 / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if t.strip()]


def test_c_training_replay_lists_its_audio_duration_and_12345_as_one_number(
        real_server: RealServer, new_page: NewPage) -> None:
    call = "t5-c-history"
    events = real_server.replay(call, "T01", lines("c-wuye-angry"), speed=0, mode="training").result(timeout=60)
    assert events[-1]["type"] == "ended"
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{real_server.base_url}/history?call={call}")
    row = page.locator(f'{tid("result-row")}[data-call-id="{call}"]')
    expect(row.locator("td").nth(3)).to_have_text("1:05")
    first = page.locator(f'{tid("detail-utterances")} {tid("transcript-line")}').first
    expect(first).to_contain_text("喂，12345")
    assert "1 2 3" not in page.locator(tid("detail-utterances")).inner_text()
