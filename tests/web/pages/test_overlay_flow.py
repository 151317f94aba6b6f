"""The overlay's banned-phrase warnings in quick succession and a call opened before it starts, in
headless Chromium against the fake server."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from assist.protocol.events import CallStarted, Prompt, Transcript
from assist.protocol.payloads import BannedPayload
from tests.support.fake_page_server import FakeServer
from tests.support.pages import console_errors, tid
from tests.support.scenario import AGENT, BANNED_PHRASE, CALL, PAST

pytestmark = pytest.mark.browser


def banned(uid: str, said: str, suggestion: str, t: float) -> Prompt:
    return Prompt(f"{uid}:banned:r", CALL, "agent", uid, "banned", "show", t, None,
                  BannedPayload(rule="推诿", said=said, suggestion=suggestion))


def test_each_banned_phrase_warning_stays_long_enough_to_read(page: Page, fake_server: FakeServer) -> None:
    page.clock.install()
    page.goto(f"{fake_server.base_url}/?call={CALL}")
    warning = page.locator(tid("banned-warning"))
    phrase = warning.locator(tid("banned-phrase"))
    expect(phrase).to_contain_text(BANNED_PHRASE)
    # two more warnings right after the first, like 这不归我们管 then 你找物业去 in the trial call
    fake_server.push(banned("u-a3", "这不归我们管", "您反映的问题我来帮您联系住建部门。", 20.0))
    fake_server.push(banned("u-a4", "你找物业去", "我帮您把情况转给住建部门处理。", 21.3))
    page.clock.fast_forward(1300)
    expect(phrase).to_contain_text(BANNED_PHRASE)  # not replaced after 1.3 s
    expect(warning.locator(tid("banned-queued"))).to_have_text("还有 2 条")
    page.clock.fast_forward(3000)  # the first has been up 4 s: the next one takes its place
    expect(phrase).to_contain_text("这不归我们管")
    expect(warning.locator(tid("banned-suggestion"))).to_have_text("您反映的问题我来帮您联系住建部门。")
    expect(warning.locator(tid("banned-queued"))).to_have_text("还有 1 条")
    expect(page.locator(tid("warning-item"))).to_have_count(1)
    page.clock.fast_forward(2000)
    expect(phrase).to_contain_text("这不归我们管")
    page.clock.fast_forward(2500)
    expect(phrase).to_contain_text("你找物业去")
    expect(warning.locator(tid("banned-queued"))).to_be_hidden()
    page.clock.fast_forward(6000)  # the last one, with none waiting, stays its full 8 s
    expect(phrase).to_contain_text("你找物业去")
    page.clock.fast_forward(3000)
    expect(warning).to_be_hidden()
    items = page.locator(tid("warning-item"))
    expect(items).to_have_count(3)
    for said in (BANNED_PHRASE, "这不归我们管", "你找物业去"):
        expect(items.filter(has_text=said)).to_have_count(1)
    expect(page.locator(tid("warnings-toggle"))).to_have_text("禁用语 3")


def test_知道了_shows_the_next_warning_at_once(page: Page, fake_server: FakeServer) -> None:
    page.goto(f"{fake_server.base_url}/?call={CALL}")
    phrase = page.locator(tid("banned-phrase"))
    expect(phrase).to_contain_text(BANNED_PHRASE)
    fake_server.push(banned("u-a3", "这不归我们管", "我来帮您联系住建部门。", 20.0))
    expect(page.locator(tid("banned-queued"))).to_have_text("还有 1 条")
    page.locator(f'{tid("banned-warning")} .flash-close').click()
    expect(phrase).to_contain_text("这不归我们管")
    expect(page.locator(tid("warning-item"))).to_have_count(1)


def test_a_call_opened_before_it_starts_waits_for_it_without_errors(page: Page, fake_server: FakeServer) -> None:
    errors = console_errors(page)
    call = "call-later"
    page.goto(f"{fake_server.base_url}/?call={call}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    expect(page.locator(tid("call-state"))).to_have_text("等待通话开始")
    expect(page.locator(tid("call-id"))).to_have_text(call)
    expect(page.locator(tid("call-info"))).to_have_attribute("data-state", "waiting")
    # the call starts: the overlay follows it from its first event
    fake_server.push(CallStarted(call, AGENT, time.time()))
    fake_server.push(Transcript(call, "caller", "l-1", True, "你好,我想问一下公积金提取。", 0.5, 2.5))
    expect(page.locator(tid("call-state"))).to_have_text("通话中")
    expect(page.locator(tid("call-info"))).to_have_attribute("data-state", "active")
    expect(page.locator(tid("call-agent"))).to_have_text(f"坐席 {AGENT}")
    expect(page.locator(tid("transcript-line"))).to_have_count(1)
    assert not [p for p in fake_server.http_paths if p.startswith(f"/api/calls/{call}")]  # nothing to 404
    assert errors == []


def test_a_stored_call_opened_by_id_shows_as_ended(page: Page, fake_server: FakeServer) -> None:
    page.goto(f"{fake_server.base_url}/?call={PAST}")
    expect(page.locator(tid("transcript-line"))).to_have_count(6)
    expect(page.locator(tid("call-state"))).to_have_text("已结束")
    expect(page.locator(tid("warning-item"))).to_contain_text("说完了没有")
