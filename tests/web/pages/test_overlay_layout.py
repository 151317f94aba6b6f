"""The overlay's card slot at 360 px under a banner, in headless Chromium: whatever the height of the
危急 or 安全确认 banner, nothing lies over the transcript, 其他提示 can be tapped, and every card
opened under a banner can be read in full (scrolling inside the slot)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Locator, Page, expect

from assist.protocol.events import CallStarted, Prompt, Transcript
from assist.protocol.payloads import CriticalPayload, EmpathyPayload, KnowledgePayload, SafetyPayload
from tests.support.fake_page_server import FakeServer
from tests.support.pages import Screenshot, tid
from tests.support.scenario import AGENT, CALL

pytestmark = pytest.mark.browser

# The box of an element against every box that clips it (an ancestor that does not let content
# overflow) and the viewport: the parts of it hidden by clipping, in pixels (0, 0 = all readable).
HIDDEN_JS = """el => {
  const r = el.getBoundingClientRect();
  let above = Math.max(0, -r.top), below = Math.max(0, r.bottom - window.innerHeight);
  for (let a = el.parentElement; a; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.overflowY === "visible" && s.overflowX === "visible") continue;
    const c = a.getBoundingClientRect();
    const top = c.top + a.clientTop;
    above = Math.max(above, top - r.top);
    below = Math.max(below, r.bottom - (top + a.clientHeight));
  }
  return [Math.round(above), Math.round(below), Math.round(r.height)];
}"""


def hidden_parts(node: Locator) -> list[int]:
    """[pixels hidden above, pixels hidden below, height] of ``node``."""
    result: list[int] = node.evaluate(HIDDEN_JS)
    return result


# The lowest visible bottom edge of the slot's parts (banner, 其他提示 line, cards), each clipped by the
# boxes that clip it, against the top of the 实时转写 heading.
SPILL_JS = """() => {
  const title = document.querySelector(".transcript-title").getBoundingClientRect().top;
  let lowest = 0;
  const parts = ".card-slot .critical-zone, .card-slot .routine-toggle, .card-slot .cards";
  for (const el of document.querySelectorAll(parts)) {
    const r = el.getBoundingClientRect();
    if (!r.height) continue;
    let bottom = r.bottom;
    for (let a = el.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowY !== "visible" || s.overflowX !== "visible") {
        bottom = Math.min(bottom, a.getBoundingClientRect().top + a.clientTop + a.clientHeight);
      }
    }
    lowest = Math.max(lowest, bottom);
  }
  return [Math.round(lowest), Math.round(title)];
}"""


def assert_slot_above_transcript(page: Page) -> None:
    lowest, title = page.evaluate(SPILL_JS)
    assert lowest <= title, f"the card slot shows down to y={lowest}, over the transcript heading at y={title}"


def assert_each_card_readable(page: Page) -> None:
    cards = page.locator(tid("card"))
    assert cards.count() >= 2
    for card in cards.all():
        if not card.is_visible():
            continue  # an older card folded behind 另有 n 条
        card.scroll_into_view_if_needed()
        above, below, height = hidden_parts(card)
        assert height >= 60, f"a card {height} px tall"
        kind = card.get_attribute("data-kind")
        assert (above, below) == (0, 0), f"card {kind}: {above} px hidden above, {below} below"
    assert_slot_above_transcript(page)


def dismiss_warnings(page: Page) -> None:
    """The scenario's banned-phrase warning lies over the slot's bottom (the 其他提示 line) for 4-8 s, as
    it should; an operator taps 知道了 first when it is up (on a loaded machine it still is when the test
    gets to the 其他提示 line)."""
    for _ in range(3):
        close = page.locator(f"{tid('banned-warning')} .flash-close")
        if close.count() == 0 or not close.first.is_visible():
            return
        close.first.click()


def test_a_tall_crisis_banner_leaves_the_routine_line_clickable_and_opens_readable_cards(
    page: Page, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page.goto(f"{fake_server.base_url}/?call={CALL}")
    expect(page.locator(tid("critical-banner"))).to_have_count(1)
    expect(page.locator(tid("card"))).to_have_count(3)
    # the crisis card grows: a two-line reason and three numbers on two lines
    fake_server.push(Prompt(
        "u-c2:critical:self-harm", CALL, "caller", "u-c2", "critical", "update", 17.2, None,
        CriticalPayload("来电人流露轻生/自伤念头,请立即关注并转介心理援助", ("110", "12356", "12333")),
    ))
    expect(page.locator(tid("critical-number"))).to_have_text("110 / 12356 / 12333")
    toggle = page.locator(tid("routine-toggle"))
    expect(toggle).to_contain_text("其他提示 3 条")
    assert_slot_above_transcript(page)
    assert hidden_parts(page.locator(tid("critical-banner")))[:2] == [0, 0]  # the whole banner shows
    dismiss_warnings(page)
    toggle.click()  # fails when the transcript heading lies over it
    expect(page.locator(tid("card-slot"))).to_have_attribute("data-show-routine", "")
    expect(page.locator(tid("cards"))).to_be_visible()
    assert_each_card_readable(page)
    screenshot(page, "routine-open")
    # folded again: the banner is back in view
    page.locator(tid("slot-scroll")).evaluate("b => { b.scrollTop = b.scrollHeight; }")
    toggle.scroll_into_view_if_needed()
    dismiss_warnings(page)
    toggle.click()
    expect(page.locator(tid("cards"))).to_be_hidden()
    assert hidden_parts(page.locator(tid("critical-banner")))[:2] == [0, 0]


def test_however_tall_the_banner_nothing_lies_over_the_transcript(page: Page, fake_server: FakeServer) -> None:
    page.goto(f"{fake_server.base_url}/?call={CALL}")
    expect(page.locator(tid("critical-banner"))).to_have_count(1)
    reason = "来电人说已经在楼顶边上,情绪激动,多次提到要跳下去,并称家人都不理解自己,请立即稳住并转接"
    fake_server.push(Prompt(
        "u-c2:critical:self-harm", CALL, "caller", "u-c2", "critical", "update", 17.2, None,
        CriticalPayload(reason, ("110", "12356", "120", "119", "12333")),
    ))
    expect(page.locator(tid("critical-banner"))).to_contain_text("楼顶边上")
    assert_slot_above_transcript(page)
    dismiss_warnings(page)
    toggle = page.locator(tid("routine-toggle"))
    toggle.scroll_into_view_if_needed()
    toggle.click()
    assert_each_card_readable(page)
    transcript = page.locator(tid("transcript")).bounding_box()
    assert transcript is not None and transcript["height"] >= 120  # the transcript keeps its room


def test_cards_under_a_safety_question_can_be_read_in_full(
    page: Page, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page.goto(f"{fake_server.base_url}/?agent={AGENT}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    said = "嗯就是太累了什么都不想弄了,公积金的事你们帮我看看吧"
    fake_server.push(CallStarted("call-a", AGENT, time.time()))
    fake_server.push(Transcript("call-a", "caller", "a-1", True, said, 0.5, 4.0))
    fake_server.push(Prompt(
        "a-1:empathy:s", "call-a", "caller", "a-1", "empathy", "show", 4.0, None,
        EmpathyPayload("绝望", (
            "我能感受到您现在压力特别大,您愿意跟我说说,我很愿意听。",
            "这个问题由住建部门负责,我马上为您查询确认。",
            "我把您的情况记下来,三个工作日内给您回电。",
        )),
    ))
    fake_server.push(Prompt(
        "a-1:knowledge:kb-3", "call-a", "caller", "a-1", "knowledge", "show", 4.0, None,
        KnowledgePayload("kb-3", "住房公积金怎么提取?需要什么条件和材料?",
                         "离职、退休、购房、租房等情形可申请提取,需身份证、银行卡及相关证明材料,"
                         "可在公积金中心网点或线上办理。", 0.66, "住房公积金提取指南", "2025-03-01"),
    ))
    fake_server.push(Prompt(
        "a-1:safety:0", "call-a", "caller", "a-1", "safety", "show", 4.0, None,
        SafetyPayload("我很关心您,想直接问一句:您现在有没有伤害自己的打算?您在什么地方?",
                      "可能有自伤自杀风险(模型判断)", ("110", "12356")),
    ))
    expect(page.locator(tid("safety-banner"))).to_be_visible()
    expect(page.locator(tid("card"))).to_have_count(2)
    assert_slot_above_transcript(page)
    assert_each_card_readable(page)
    screenshot(page, "safety-cards")
