"""New-user trial 4 in headless Chromium against the fake server: the supervisor's pins of calls that have
ended stayed with growing wait timers and pushed live crises down (#16); the history list squeezed 首句
to one or two characters at 1280 px, rows ~100 px tall (#18)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from assist.protocol.events import Alert, CallEnded, CallStarted, CallState, CallSummary, EmotionLevel
from tests.support.fake_page_server import FakeServer
from tests.support.pages import NewPage, Screenshot, tid
from tests.support.scenario import _row

pytestmark = pytest.mark.browser

SUPERVISOR = ViewportSize(width=1280, height=900)
HURT = "危机信号:来电人扬言持刀/动手伤人,通话涉及暴力伤害威胁,请立即报警(110)并稳住来电人"
SELF_HARM = "危机信号:可能有自伤自杀风险(模型判断)"


def pin(page: Page, call_id: str) -> Any:
    return page.locator(f'{tid("pinned-critical")}[data-call-id="{call_id}"]')


def test_an_ended_calls_pin_goes_below_the_live_crisis_folds_and_its_wait_stops(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = new_page(viewport=SUPERVISOR)
    page.goto(f"{fake_server.base_url}/supervisor?name=王组长")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()
    now = time.time()
    # a crisis in a call that is live on this page, and that call then ends
    fake_server.push(CallStarted("t4-f3", "A43", now - 90))
    fake_server.push(Alert("f3-a", "t4-f3", "A43", "critical", "critical", HURT, 30.0, None, now - 60))
    ended = pin(page, "t4-f3")
    expect(ended).to_have_attribute("data-live", "true")
    fake_server.push(CallEnded("t4-f3", "A43", CallSummary(90.0, {"agent": 4, "caller": 4}, "completed")))
    expect(ended).to_have_attribute("data-live", "false")
    # a newer crisis in a live call: above it; an older live one too (live crises first, whatever their age)
    fake_server.push(CallStarted("t4-f9", "A49", now - 40))
    fake_server.push(CallState("t4-f9", "A49", now - 40, True, 40.0, EmotionLevel("绝望", 0.74), "求助", "公安",
                               critical=True))
    fake_server.push(Alert("f9-a", "t4-f9", "A49", "critical", "critical", SELF_HARM, 30.0, None, now - 5))
    live = pin(page, "t4-f9")
    expect(live).to_be_visible()
    order: list[str] = page.locator(tid("pinned-critical")).evaluate_all("ns => ns.map(n => n.dataset.callId)")
    assert order.index("t4-f9") < order.index("t4-f3")
    assert all(o != "t4-f3" for o in order[: order.index("t4-f9")])
    live_box, ended_box = live.bounding_box(), ended.bounding_box()
    assert live_box is not None and ended_box is not None and live_box["y"] < ended_box["y"]
    # the ended pin: 通话已结束, its message folded (it is in the queue), shorter than a live pin
    expect(ended.locator(tid("pinned-call-state"))).to_have_text("通话已结束")
    expect(ended.locator(tid("pinned-message"))).to_be_hidden()
    expect(live.locator(tid("pinned-message"))).to_be_visible()
    assert ended_box["height"] < live_box["height"]
    # its wait has stopped; the live one's keeps counting
    expect(ended.locator(tid("pinned-wait"))).to_contain_text("等待")
    ended_age = ended.locator(tid("pinned-age")).inner_text()
    live_age = live.locator(tid("pinned-age")).inner_text()
    page.wait_for_timeout(2300)
    assert ended.locator(tid("pinned-age")).inner_text() == ended_age
    assert live.locator(tid("pinned-age")).inner_text() != live_age
    # every pin in view in the pin area: none cut off
    for node in page.locator(tid("pinned-critical")).all():
        expect(node).to_be_in_viewport(ratio=1)
    screenshot(page, "pins")


def test_a_pin_first_seen_ended_shows_no_growing_wait(new_page: NewPage, fake_server: FakeServer) -> None:
    # the call ended before the page opened (not in the page's live calls): when is not known here, so no
    # wait is shown at all
    page = new_page(viewport=SUPERVISOR)
    page.goto(f"{fake_server.base_url}/supervisor?name=王组长")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()
    fake_server.push(Alert("old-a", "t4-old", "R6", "critical", "critical", HURT, 30.0, None, time.time() - 180))
    old = pin(page, "t4-old")
    expect(old).to_have_attribute("data-live", "false")
    expect(old.locator(tid("pinned-call-state"))).to_have_text("通话已结束")
    expect(old).not_to_contain_text("已等待")
    expect(old.locator(tid("pinned-wait"))).to_be_hidden()


def test_an_ended_crisis_pin_says_whether_the_numbers_were_told(new_page: NewPage, fake_server: FakeServer) -> None:
    """Trial 6, M11: a call handed to 120 and a caller at risk hung up on looked the same once ended."""
    page = new_page(viewport=SUPERVISOR)
    page.goto(f"{fake_server.base_url}/supervisor?name=王组长")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()
    now = time.time()
    cases = (("m11-told", "A21", ("120", "110")), ("m11-half", "A23", ("110",)), ("m11-untold", "A22", ()))
    for call, agent, told in cases:
        fake_server.push(CallStarted(call, agent, now - 90))
        fake_server.push(CallState(call, agent, now - 90, True, 80.0, EmotionLevel("焦虑", 0.6), "求助", "卫健",
                                   critical=True, crisis_numbers=("120", "110"), told=told))
        fake_server.push(Alert(f"{call}-a", call, agent, "critical", "critical", SELF_HARM, 30.0, None, now - 60))
        expect(pin(page, call)).to_have_attribute("data-live", "true")
        expect(pin(page, call).locator(tid("pinned-handoff"))).to_be_hidden()  # the operator is still on it
    for call, agent, _ in cases:
        fake_server.push(CallEnded(call, agent, CallSummary(90.0, {"agent": 4, "caller": 4}, "completed")))
        expect(pin(page, call)).to_have_attribute("data-live", "false")
    handed = pin(page, "m11-told").locator(tid("pinned-handoff"))
    expect(handed).to_have_text("已告知 120、110")
    expect(handed).not_to_have_class("pin-handoff pin-untold")
    half = pin(page, "m11-half").locator(tid("pinned-handoff"))  # a knife attack told 110, never 120
    expect(half).to_have_text("已告知 110 · 未告知 120 · 请回访")
    expect(half).to_have_class("pin-handoff pin-untold")
    dropped = pin(page, "m11-untold").locator(tid("pinned-handoff"))
    expect(dropped).to_have_text("未告知 120、110 · 请回访")
    expect(dropped).to_have_class("pin-handoff pin-untold")
    # people trapped: 119 told, and 110 owed no more (被困: one number is enough; the server's owed, trial 9)
    fake_server.push(CallStarted("m11-lift", "A25", now - 90))
    fake_server.push(CallState("m11-lift", "A25", now - 90, True, 80.0, EmotionLevel("焦虑", 0.6), "求助", "应急管理",
                               critical=True, crisis_numbers=("119", "110"), told=("119",), owed=()))
    fake_server.push(Alert("m11-lift-a", "m11-lift", "A25", "critical", "critical", HURT, 30.0, None, now - 60))
    fake_server.push(CallEnded("m11-lift", "A25", CallSummary(90.0, {"agent": 4, "caller": 4}, "completed")))
    lift = pin(page, "m11-lift").locator(tid("pinned-handoff"))
    expect(lift).to_have_text("已告知 119")
    expect(lift).not_to_have_class("pin-handoff pin-untold")
    # the calls table writes a calm or satisfied caller's emotion without a percentage (trial 6, L9)
    fake_server.push(CallStarted("m11-praise", "A24", now - 30))
    fake_server.push(CallState("m11-praise", "A24", now - 30, True, 20.0, EmotionLevel("满意", 0.0), "表扬", None))
    chip = page.locator(f'{tid("call-row")}[data-call-id="m11-praise"] {tid("emotion-chip")}')
    expect(chip).to_have_text("满意")
    # a pin of a call this page never saw: nothing is claimed either way
    fake_server.push(Alert("m11-old-a", "m11-old", "R6", "critical", "critical", HURT, 30.0, None, now - 180))
    expect(pin(page, "m11-old")).to_have_attribute("data-live", "false")
    expect(pin(page, "m11-old").locator(tid("pinned-handoff"))).to_be_hidden()


def test_an_ended_crisis_pin_after_a_reload_says_what_the_store_kept(new_page: NewPage,
                                                                    fake_server: FakeServer) -> None:
    """Stop 16's review: after a reload an ended crisis call is not among the page's calls, and its pin claimed
    neither 已告知 nor 未告知; the store keeps the call's last numbers and those told (calls.crisis_numbers, told)."""
    now = time.time()
    lines = [{"utterance_id": "r-0", "role": "caller", "text": "我在江边", "start": 1.0, "end": 3.0}]
    fake_server.scenario.history["m11-reload"] = {
        "call": _row("m11-reload", "A25", now - 300, now - 200, "completed", lines, 1, crisis_numbers=("120", "110"),
                     told=("110",)),
        "utterances": lines, "prompts": [], "alerts": []}
    page = new_page(viewport=SUPERVISOR)
    page.goto(f"{fake_server.base_url}/supervisor?name=王组长")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()
    fake_server.push(Alert("m11-r-a", "m11-reload", "A25", "critical", "critical", SELF_HARM, 30.0, None, now - 250))
    stored = pin(page, "m11-reload")
    expect(stored).to_have_attribute("data-live", "false")
    expect(stored.locator(tid("pinned-handoff"))).to_have_text("已告知 110 · 未告知 120 · 请回访")
    expect(stored.locator(tid("pinned-handoff"))).to_have_class("pin-handoff pin-untold")


HISTORY = [
    ("t4-f6-training-property-70523", "trainee46",
     "你好我是阳光花园的业主我们小区电梯坏了一个礼拜了物业一直不修我家住十八楼老人腿脚不好根本下不了楼"),
    ("t4-f1-calm-risk-70523", "trainee41", "你好我想问一下我名下的公积金能不能让我女儿来取我想把手续都提前办好"),
    ("t4-f2-wage-angry-70202", "A42",
     "我要投诉我们那个装修公司老板欠了我四个月工资两万八一直躲着不见电话也不接你们到底管不管"),
    ("t4-f3-petrol-office-70097", "A43", "我家的房子被强拆了三年了补偿款一分没给街道办天天推"),
]


def add_history(server: FakeServer) -> None:
    now = time.time()
    for i, (call_id, agent, text) in enumerate(HISTORY):
        utterances = [{"utterance_id": f"{call_id}-0", "role": "caller", "text": text, "start": 1.0, "end": 3.0}]
        mode = "training" if agent.startswith("trainee") else "live"
        server.scenario.history[call_id] = {
            "call": _row(call_id, agent, now - 3000 + i * 60, now - 2925 + i * 60, "completed", utterances, 3,
                         mode=mode),
            "utterances": utterances, "prompts": [], "alerts": []}


@pytest.mark.parametrize("open_call", [False, True])
def test_the_history_list_gives_the_first_sentence_its_room_at_1280(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot, open_call: bool
) -> None:
    add_history(fake_server)
    page = new_page(viewport=ViewportSize(width=1280, height=900))
    page.goto(f"{fake_server.base_url}/history")
    row = page.locator('tr[data-call-id="t4-f6-training-property-70523"]')
    expect(row).to_be_visible()
    if open_call:
        row.click()
        expect(page.locator(tid("call-detail"))).to_be_visible()
    page.wait_for_timeout(100)
    first = row.locator(".first-text")
    expect(first).to_contain_text("阳光花园")
    box = first.bounding_box()
    assert box is not None and box["width"] >= 240, f"首句 is {box and box['width']:.0f} px wide"
    for r in page.locator(tid("result-row")).all():
        height = (r.bounding_box() or {"height": 999})["height"]
        assert height <= 60, f"a row {height:.0f} px tall"
    # no part of the table lies beyond the list's panel (nothing scrolls sideways)
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("w => w.scrollWidth - w.clientWidth") <= 1
    # the whole sentence is in its tooltip
    assert first.get_attribute("title") == HISTORY[0][2]
    screenshot(page, "history")


def test_a_pin_names_its_call(new_page: NewPage, fake_server: FakeServer) -> None:
    """New-user trial 8: two ended pins of one agent were told apart by nothing."""
    page = new_page(viewport=SUPERVISOR)
    page.goto(f"{fake_server.base_url}/supervisor?name=王组长")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()
    for call, alert in (("t8-a", "t8-a1"), ("t8-b", "t8-b1")):
        fake_server.push(Alert(alert, call, "A81", "critical", "critical", HURT, 30.0, None, time.time() - 60))
    for call in ("t8-a", "t8-b"):
        expect(pin(page, call).locator(tid("pinned-call-id"))).to_have_text(call)
