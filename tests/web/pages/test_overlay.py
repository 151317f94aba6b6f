"""The operator overlay against the fake server, in headless Chromium."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from assist.protocol.events import (
    CallEnded,
    CallStarted,
    CallState,
    CallSummary,
    EmotionLevel,
    Prompt,
    Span,
    Transcript,
)
from assist.protocol.payloads import (
    BannedPayload,
    CriticalPayload,
    HandlingPayload,
    KnowledgePayload,
    ReferralPayload,
    SafetyPayload,
)
from tests.support.fake_page_server import FakeServer
from tests.support.pages import NewPage, Screenshot, tid
from tests.support.scenario import AGENT, BANNED_PHRASE, BANNED_SUGGESTION, CALL, LEGAL_NUMBER

pytestmark = pytest.mark.browser

REFERRAL_ID = f"u-c1:referral:{LEGAL_NUMBER}"
KNOWLEDGE_ID = "u-c1:knowledge:kb-017"


def open_overlay(page: Page, server: FakeServer, query: str = f"?agent={AGENT}") -> None:
    page.goto(f"{server.base_url}/{query}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")


def test_overlay_shows_the_call_as_it_happens(page: Page, fake_server: FakeServer, screenshot: Screenshot) -> None:
    open_overlay(page, fake_server)
    caller = page.locator(f'{tid("transcript-line")}[data-role="caller"]')
    expect(caller.first).to_contain_text("房东一直不退押金")
    expect(caller.first).to_have_attribute("data-final", "true")
    expect(page.locator(f'{tid("transcript-line")}[data-role="agent"]').first).to_contain_text("市长热线")
    # partials were replaced in place by the final: one line per utterance
    expect(page.locator('[data-utterance-id="u-c1"]')).to_have_count(1)
    expect(page.locator(tid("transcript-line"))).to_have_count(4)

    referral = page.locator(f'{tid("card")}[data-kind="referral"]')
    expect(referral).to_have_count(1)
    expect(referral.locator(tid("referral-number"))).to_have_text(LEGAL_NUMBER)
    expect(referral).to_contain_text("法律援助热线")
    expect(referral).to_contain_text("建议您拨打12348")

    knowledge = page.locator(f'{tid("card")}[data-kind="knowledge"]')
    expect(knowledge).to_contain_text("房东不退租房押金怎么办")
    expect(knowledge.locator(tid("kb-answer"))).to_contain_text("人民调解委员会")
    expect(knowledge).to_contain_text("匹配 82%")
    expect(knowledge).to_contain_text("2025-06-30")

    empathy = page.locator(f'{tid("card")}[data-kind="empathy"]')
    for step in ("情绪承接", "责任表态", "行动承诺"):
        expect(empathy).to_contain_text(step)

    expect(page.locator(tid("category-badge"))).to_have_text("求助")
    expect(page.locator(tid("department"))).to_contain_text("司法")
    meter = page.locator(tid("emotion-meter"))
    expect(meter).to_have_attribute("data-label", "绝望")
    expect(meter).to_have_attribute("data-level", "high")
    expect(page.locator(tid("critical-banner"))).to_contain_text("12356")
    # evidence of the referral is highlighted in the caller's words
    expect(page.locator('[data-utterance-id="u-c1"] mark[data-kind="referral"]')).to_have_text("合同纠纷")
    expect(page.locator(tid("call-id"))).to_have_text(CALL)
    screenshot(page, "overlay")

    assert fake_server.messages("subscribe") == [{"type": "subscribe", "agent_id": AGENT}]
    assert all("ticket" not in p for p in fake_server.ws_paths)


def test_banned_phrase_warning_flashes_then_moves_to_the_list(
    page: Page, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page.clock.install()
    open_overlay(page, fake_server, f"?call={CALL}")
    warning = page.locator(tid("banned-warning"))
    expect(warning).to_be_visible()
    expect(warning.locator(tid("banned-phrase"))).to_contain_text(BANNED_PHRASE)
    expect(warning.locator(tid("banned-suggestion"))).to_have_text(BANNED_SUGGESTION)
    expect(page.locator(tid("warnings-list"))).to_be_hidden()
    screenshot(page, "banned")
    page.clock.fast_forward(9000)  # the warning stays about 8 s
    expect(warning).to_be_hidden()
    item = page.locator(tid("warning-item"))
    expect(item).to_have_count(1)
    expect(item).to_contain_text(BANNED_PHRASE)
    expect(item).to_contain_text(BANNED_SUGGESTION)
    assert fake_server.messages("subscribe") == [{"type": "subscribe", "call_id": CALL}]


def test_update_replaces_and_withdraw_removes_a_card(page: Page, fake_server: FakeServer) -> None:
    open_overlay(page, fake_server)
    referral = page.locator(f'{tid("card")}[data-kind="referral"]')
    knowledge = page.locator(f'{tid("card")}[data-kind="knowledge"]')
    expect(referral).to_have_count(1)
    expect(knowledge).to_have_count(1)
    span = Span("合同纠纷", 0, 4)
    fake_server.push(Prompt(
        KNOWLEDGE_ID, CALL, "caller", "u-c1", "knowledge", "update", 10.5, None,
        KnowledgePayload("kb-017", "房东不退租房押金怎么办?", "已更新的答案", 0.9, "住房租赁纠纷处理指引",
                         "2025-06-30"),
    ))
    expect(knowledge).to_have_count(1)
    expect(knowledge.locator(tid("kb-answer"))).to_have_text("已更新的答案")
    expect(knowledge).to_contain_text("匹配 90%")

    fake_server.push(Prompt(REFERRAL_ID, CALL, "caller", "u-c1", "referral", "withdraw", 10.5, span,
                            ReferralPayload(LEGAL_NUMBER, "法律援助热线", "", "")))
    expect(referral).to_have_count(0)
    expect(page.locator('mark[data-kind="referral"]')).to_have_count(0)
    expect(knowledge).to_have_count(1)


def test_reconnects_without_losing_or_duplicating_lines(
    page: Page, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    open_overlay(page, fake_server)
    lines = page.locator(tid("transcript-line"))
    expect(lines).to_have_count(4)
    status = page.locator(tid("connection-status"))

    fake_server.stop()
    expect(status).to_have_attribute("data-state", "retrying")
    expect(status).to_contain_text("连接已断开,正在重连…")
    screenshot(page, "disconnected")
    # the caller kept talking while the overlay was away: the server stored it
    said = "喂?你们还在吗?"
    fake_server.scenario.history[CALL]["utterances"].append(
        {"utterance_id": "u-c3", "role": "caller", "text": said, "start": 18.0, "end": 19.5}
    )
    fake_server.restart()
    expect(status).to_have_attribute("data-state", "open", timeout=15000)
    expect(status).to_have_text("已连接")
    expect(page.locator('[data-utterance-id="u-c3"]')).to_contain_text(said)
    # the server replayed the call: every utterance still shows once
    expect(lines).to_have_count(5)
    ids = lines.evaluate_all("ns => ns.map(n => n.dataset.utteranceId)")
    assert len(ids) == len(set(ids))
    assert len(fake_server.messages("subscribe")) == 2


def test_following_an_agent_switches_to_the_next_call(page: Page, fake_server: FakeServer) -> None:
    open_overlay(page, fake_server)
    expect(page.locator(tid("transcript-line"))).to_have_count(4)
    fake_server.push(CallStarted("call-009", AGENT, 1_700_000_000.0))
    fake_server.push(Transcript("call-009", "caller", "n-1", True, "你好,我想问一下公积金提取。", 0.5, 2.5))
    expect(page.locator(tid("call-id"))).to_have_text("call-009")
    expect(page.locator(tid("transcript-line"))).to_have_count(1)
    expect(page.locator(tid("transcript-line"))).to_contain_text("公积金")
    expect(page.locator(tid("card"))).to_have_count(0)
    expect(page.locator(tid("critical-banner"))).to_have_count(0)


def test_a_safety_question_holds_the_zone_without_crisis_mode(page: Page, fake_server: FakeServer) -> None:
    open_overlay(page, fake_server, f"?agent={AGENT}")
    fake_server.push(CallStarted("call-s", AGENT, 1_700_000_000.0))
    fake_server.push(Transcript("call-s", "caller", "s-1", True, "算了,说了也没用,就这样吧。", 0.5, 2.5))
    fake_server.push(Prompt("call-s:s-1:safety:0", "call-s", "caller", "s-1", "safety", "show", 2.5, None,
                            SafetyPayload("冒昧问一句:您现在安全吗?", None, ("110", "12356"))))
    safety = page.locator(tid("safety-banner"))
    expect(safety).to_have_count(1)
    expect(safety.locator(tid("safety-question"))).to_have_text("冒昧问一句:您现在安全吗?")
    expect(safety.locator(tid("safety-number"))).to_have_text("110 / 12356")
    expect(page.locator(tid("critical-banner"))).to_have_count(0)
    expect(page.locator(tid("cards"))).to_be_visible()  # no crisis mode: the routine cards stay open
    # the answer confirms the danger: the crisis banner replaces the question
    fake_server.push(Prompt("call-s:s-2:critical:0", "call-s", "caller", "s-2", "critical", "show", 4.0, None,
                            CriticalPayload("来电人可能正在实施轻生行为", ("110", "12356"))))
    expect(page.locator(tid("critical-banner"))).to_have_count(1)
    expect(safety).to_have_count(0)
    expect(page.locator(tid("cards"))).to_be_hidden()


def test_a_ticket_for_a_caller_at_risk_is_nudged_on_the_crisis_banner(page: Page, fake_server: FakeServer) -> None:
    """New-user trial 9: the operator gave a caller at risk a ticket and working days; the nudge stands on the
    crisis banner, where the operator is looking, with what to do instead."""
    open_overlay(page, fake_server, f"?agent={AGENT}")
    fake_server.push(CallStarted("call-h", AGENT, 1_700_000_000.0))
    fake_server.push(Prompt("call-h:h-1:critical:0", "call-h", "caller", "h-1", "critical", "show", 2.5, None,
                            CriticalPayload("来电人可能正在实施轻生行为", ("110", "12356"))))
    banner = page.locator(tid("critical-banner"))
    expect(banner).to_have_count(1)
    expect(banner.locator(tid("handling-nudge"))).to_have_count(0)
    fake_server.push(Prompt("call-h:h-2:handling:0", "call-h", "agent", "h-2", "handling", "show", 5.0, None,
                            HandlingPayload("危急情况按一般诉求处理", "三个工作日",
                                            "先稳住来电人、问清位置,立即三方转接110/12356。")))
    nudge = banner.locator(tid("handling-nudge"))
    expect(nudge).to_contain_text("危急情况按一般诉求处理")
    expect(nudge).to_contain_text("“三个工作日”")
    expect(nudge.locator(tid("handling-suggestion"))).to_have_text("先稳住来电人、问清位置,立即三方转接110/12356。")
    expect(banner.locator(tid("critical-number"))).to_have_text("110 / 12356")  # the banner itself is unchanged
    fake_server.push(Prompt("call-h:h-2:handling:0", "call-h", "agent", "h-2", "handling", "withdraw", 6.0, None,
                            HandlingPayload("危急情况按一般诉求处理", "三个工作日", "")))
    expect(banner.locator(tid("handling-nudge"))).to_have_count(0)


def test_a_correction_stands_on_the_banner_until_the_crisis_is_stood_down(page: Page, fake_server: FakeServer) -> None:
    """New-user trial 12: the caller took a fire back (不是着火 是烧纸); the banner quotes it with what the operator
    does to confirm it, and goes once live assist stood the crisis down (crisis_kinds.toml [corrections])."""
    open_overlay(page, fake_server, f"?agent={AGENT}")
    fake_server.push(CallStarted("call-f", AGENT, 1_700_000_000.0))
    card = CriticalPayload("火情", ("119",))
    fake_server.push(Prompt("call-f:f-1:critical:0", "call-f", "caller", "f-1", "critical", "show", 2.5, None, card))
    banner = page.locator(tid("critical-banner"))
    expect(banner).to_have_count(1)
    expect(banner.locator(tid("crisis-correction"))).to_have_count(0)
    corrected = dataclasses.replace(card, correction="哦不好意思不是着火是楼下有人在烧纸")
    fake_server.push(Prompt("call-f:f-1:critical:0", "call-f", "caller", "f-1", "critical", "update", 6.0, None,
                            corrected))
    correction = banner.locator(tid("crisis-correction"))
    expect(correction).to_contain_text("来电人更正")
    expect(correction).to_contain_text("“哦不好意思不是着火是楼下有人在烧纸”")
    expect(correction).to_contain_text("复述确认")
    expect(banner.locator(tid("critical-number"))).to_have_text("119")  # still offered until confirmed
    fake_server.push(Prompt("call-f:f-1:critical:0", "call-f", "caller", "f-1", "critical", "withdraw", 9.0, None,
                            corrected))
    expect(page.locator(tid("critical-banner"))).to_have_count(0)
    expect(page.locator(tid("cards"))).to_be_visible()  # crisis mode is over


def test_the_meter_grades_only_a_negative_emotion(page: Page, fake_server: FakeServer) -> None:
    """Trial 6, L9: a praise call's meter read 「满意 0%」; 平静 and 满意 show their label alone."""
    open_overlay(page, fake_server, f"?agent={AGENT}")
    fake_server.push(CallStarted("call-m", AGENT, 1_700_000_000.0))
    meter = page.locator(tid("emotion-meter"))
    for label, level, value in (("满意", 0.0, ""), ("焦虑", 0.55, "55%"), ("平静", 0.0, "")):
        emotion = EmotionLevel(label, level)
        fake_server.push(CallState("call-m", AGENT, 1_700_000_000.0, True, 5.0, emotion, "表扬", None))
        expect(meter).to_have_attribute("data-label", label)
        expect(meter.locator(".meter-value")).to_have_text(value)
        expect(page.locator(tid("emotion-label"))).to_have_text(label)


def test_text_is_escaped_and_ticket_is_passed_on(page: Page, fake_server: FakeServer) -> None:
    open_overlay(page, fake_server, f"?agent={AGENT}&ticket=t%2B1")
    evil = '<img src=x onerror="window.pwned=1">押金'
    fake_server.push(Transcript(CALL, "caller", "u-x", True, evil, 30.0, 31.0))
    line = page.locator('[data-utterance-id="u-x"]')
    expect(line).to_contain_text(evil)
    assert line.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert fake_server.ws_paths == ["/ws/subscribe?ticket=t%2B1"]


def test_fits_a_320_pixel_column(new_page: NewPage, fake_server: FakeServer) -> None:
    page = new_page(viewport=ViewportSize(width=320, height=600))
    open_overlay(page, fake_server)
    # the scripted call ends in a crisis, which folds the routine cards: wait for it (a loaded machine would
    # otherwise see the referral card already folded), then show them and measure
    expect(page.locator(tid("critical-banner"))).to_contain_text("12356")
    page.locator(tid("routine-toggle")).click()
    expect(page.locator(f'{tid("card")}[data-kind="referral"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_asks_for_an_agent_without_parameters(page: Page, fake_server: FakeServer) -> None:
    page.goto(f"{fake_server.base_url}/")
    page.locator(tid("agent-input")).fill(AGENT)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{fake_server.base_url}/?agent={AGENT}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")


def test_stops_retrying_when_the_ticket_is_refused(page: Page, fake_server: FakeServer) -> None:
    fake_server.rejected_tickets.add("expired")
    page.goto(f"{fake_server.base_url}/?agent={AGENT}&ticket=expired")
    status = page.locator(tid("connection-status"))
    expect(status).to_have_attribute("data-state", "stopped")
    expect(status).to_contain_text("未授权")
    page.wait_for_timeout(2500)  # longer than the first retry delay
    assert fake_server.ws_paths == ["/ws/subscribe?ticket=expired"]


def test_reconnects_with_the_renewed_ticket(page: Page, fake_server: FakeServer) -> None:
    fake_server.valid_tickets = {"first"}  # single use: a reconnect needs the renewed ticket
    open_overlay(page, fake_server, f"?agent={AGENT}&ticket=first")
    expect(page.locator(tid("transcript-line"))).to_have_count(4)
    fake_server.stop()
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "retrying")
    fake_server.restart()
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open", timeout=15000)
    assert fake_server.ws_paths == ["/ws/subscribe?ticket=first", "/ws/subscribe?ticket=renewed-1"]


def test_prompts_shaped_like_the_live_pipeline(page: Page, fake_server: FakeServer) -> None:
    """assist/live.py sends banned words in data.said and critical numbers in data.referrals."""
    open_overlay(page, fake_server, f"?call={CALL}")
    expect(page.locator(tid("critical-banner"))).to_have_count(1)
    fake_server.push(Prompt(
        "u-a9:banned:x", CALL, "agent", "u-a9", "banned", "show", 40.0, None,
        BannedPayload(rule="推诿", said="你自己去问吧", suggestion="我来帮您联系相关部门。"),
    ))
    expect(page.locator(tid("banned-phrase"))).to_contain_text("你自己去问吧")
    expect(page.locator(tid("banned-suggestion"))).to_have_text("我来帮您联系相关部门。")
    fake_server.push(Prompt(
        "u-c9:critical:0", CALL, "caller", "u-c9", "critical", "show", 41.0, None,
        CriticalPayload(reason="来电人表达暴力倾向", referrals=("110", "12356")),
    ))
    banner = page.locator(f'{tid("critical-banner")}[data-prompt-id="u-c9:critical:0"]')
    expect(banner).to_contain_text("来电人表达暴力倾向")
    expect(banner.locator(tid("critical-number"))).to_have_text("110 / 12356")
    expect(page.locator(tid("critical-banner")).first).to_have_attribute("data-prompt-id", "u-c9:critical:0")


def test_the_crisis_banner_shows_first_aid_when_the_card_has_some(page: Page, fake_server: FakeServer) -> None:
    """现场指导 (first_aid.toml): what the caller can do while the call is connected, under the numbers."""
    open_overlay(page, fake_server, f"?agent={AGENT}")
    fake_server.push(CallStarted("call-fa", AGENT, 1_700_000_000.0))
    fake_server.push(Transcript("call-fa", "caller", "f-1", True, "胸口有点闷,出了一身冷汗。", 0.5, 2.5))
    fake_server.push(Prompt("call-fa:f-1:critical:0", "call-fa", "caller", "f-1", "critical", "show", 2.5, None,
                            CriticalPayload("有人急症或重伤,需立即医疗急救", ("120",))))
    banner = page.locator(tid("critical-banner"))
    expect(banner).to_have_count(1)
    expect(banner.locator(tid("first-aid"))).to_have_count(0)  # none given: no empty heading
    fake_server.push(Prompt("call-fa:f-1:critical:0", "call-fa", "caller", "f-1", "critical", "update", 3.0, None,
                            CriticalPayload("有人急症或重伤,需立即医疗急救", ("120",),
                                            ("马上停下来,坐下或半躺着休息,不要走动。",))))
    aid = banner.locator(tid("first-aid"))
    expect(aid).to_contain_text("现场指导")
    expect(aid).to_contain_text("坐下或半躺着休息")
    expect(banner.locator(tid("critical-number"))).to_have_text("120")


def test_an_ended_crisis_call_says_what_the_operator_still_owes_the_caller(page: Page, fake_server: FakeServer) -> None:
    """New-user trial 7: after a crisis caller hung up the overlay offered no call-back step.  Every number told:
    the return visit (amber); one not told: named in red with the call-back step; a routine call: nothing."""
    open_overlay(page, fake_server, "?agent=A77")  # not the scenario's agent: its call plays meanwhile
    follow = page.locator(tid("crisis-followup"))
    fake_server.push(CallStarted("call-f", "A77", 1_700_000_000.0))
    fake_server.push(CallState("call-f", "A77", 1_700_000_000.0, True, 20.0, EmotionLevel("焦虑", 0.8), "求助", "卫健",
                               critical=True, crisis_numbers=("120",), told=("120",)))
    expect(page.locator(tid("call-id"))).to_have_text("call-f")
    expect(follow).to_be_hidden()  # not while the call is live
    fake_server.push(CallState("call-f", "A77", 1_700_000_000.0, False, 30.0, EmotionLevel("焦虑", 0.8), "求助", "卫健",
                               critical=True, crisis_numbers=("120",), told=("120",)))
    expect(follow).to_be_visible()
    expect(follow).to_contain_text("已告知 120")
    expect(follow).to_contain_text("回访")
    expect(follow).to_have_attribute("data-untold", "")
    fake_server.push(CallStarted("call-g", "A77", 1_700_000_100.0))
    fake_server.push(CallState("call-g", "A77", 1_700_000_100.0, True, 20.0, EmotionLevel("绝望", 0.9), "求助", "公安",
                               critical=True, crisis_numbers=("110", "12356"), told=("110",)))
    expect(page.locator(tid("call-id"))).to_have_text("call-g")
    expect(follow).to_be_hidden()
    fake_server.push(CallEnded("call-g", "A77", CallSummary(40.0, {"agent": 3, "caller": 3}, "client_gone")))
    expect(follow).to_be_visible()
    expect(follow).to_contain_text("未告知 12356")
    expect(follow).to_contain_text("回拨")
    expect(follow).to_have_attribute("data-untold", "12356")
    fake_server.push(CallStarted("call-h", "A77", 1_700_000_200.0))
    fake_server.push(CallEnded("call-h", "A77", CallSummary(10.0, {"agent": 1, "caller": 1}, "completed")))
    expect(page.locator(tid("call-id"))).to_have_text("call-h")
    expect(follow).to_be_hidden()


def test_an_overlay_reopened_between_calls_shows_the_ended_crisis_from_the_snapshot_alone(
        page: Page, fake_server: FakeServer) -> None:
    """An agent's token may not read the history API: the subscription's snapshot carries the ended crisis call's
    last state, and the follow-up line needs nothing else (the fake server has no such stored call)."""
    open_overlay(page, fake_server, "?agent=A78")
    state = CallState("call-x", "A78", 1_700_000_000.0, False, 95.0, EmotionLevel("绝望", 0.9), "求助", "卫健",
                      critical=True, crisis_numbers=("12356", "110"), told=())
    fake_server.push_raw({"type": "subscribed", "calls": [state.to_dict()], "alerts": [], "following": "call-x"})
    expect(page.locator(tid("call-id"))).to_have_text("call-x")
    expect(page.locator(tid("call-state"))).to_have_text("已结束")
    follow = page.locator(tid("crisis-followup"))
    expect(follow).to_contain_text("未告知 12356、110")
    expect(follow).to_have_attribute("data-untold", "12356 110")
