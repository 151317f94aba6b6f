"""Against the REAL server and store, in headless Chromium: the history list's 首句 column, and an overlay
opened with ?call= before the call starts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.pages import DESKTOP_VIEWPORT, NewPage, console_errors, tid
from tests.support.real_server import RealServer
from tests.support.samples import sample_lines

pytestmark = pytest.mark.browser

AGENT = "a1"


def unspaced(text: str) -> str:
    return text.replace(" ", "")


def test_history_list_shows_the_callers_first_sentence(real_server: RealServer, new_page: NewPage) -> None:
    call = "20250612-0001"
    lines = sample_lines("legal-dispute.jsonl")
    events = real_server.replay(call, AGENT, lines, speed=0).result(timeout=30)
    assert events[-1]["type"] == "ended"
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{real_server.base_url}/history")
    row = page.locator(f'{tid("result-row")}[data-call-id="{call}"]')
    first_caller = next(line for line in lines if line["role"] == "caller")
    expect(row.locator(".first-text")).to_have_text(unspaced(first_caller["text"]))


def test_overlay_opened_before_the_call_waits_then_follows_it(real_server: RealServer, page: Page) -> None:
    errors = console_errors(page)
    call = "20250612-0002"
    page.goto(f"{real_server.base_url}/?call={call}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    expect(page.locator(tid("call-state"))).to_have_text("等待通话开始")
    expect(page.locator(tid("call-info"))).to_have_attribute("data-state", "waiting")
    lines = sample_lines("legal-dispute.jsonl")
    done = real_server.replay(call, AGENT, lines, speed=4.0)
    expect(page.locator(tid("call-info"))).to_have_attribute("data-state", "active", timeout=10_000)
    expect(page.locator(tid("call-state"))).to_have_text("通话中")
    expect(page.locator(tid("call-agent"))).to_have_text(f"坐席 {AGENT}")
    expect(page.locator(tid("transcript-line")).first).to_contain_text(unspaced(lines[0]["text"]), timeout=10_000)
    assert done.result(timeout=30)[-1]["type"] == "ended"
    expect(page.locator(tid("call-state"))).to_have_text("已结束")
    assert errors == []
