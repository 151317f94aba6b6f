"""New-user trial 4, in headless Chromium against the fake server: at 360×800 the 转介, 共情 and 知识库 cards
were three ~97 px boxes each scrolling on its own, cut mid-line with no mark (#7). Now the card slot is one
scrolling column (banner first, then 转介, 共情, 知识库) and its cards turn compact when they do not all fit:
whole lines, a 更多 mark, a click opens the card; what lies below the fold shows a 下方还有 mark. At 1280 px,
where everything fits, the cards stay in full."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from assist.protocol.events import CallStarted, Prompt, Transcript
from assist.protocol.payloads import CriticalPayload, EmpathyPayload, KnowledgePayload, ReferralPayload, SafetyPayload
from tests.support.fake_page_server import FakeServer
from tests.support.overlay_checks import assert_slot_above_transcript, dismiss_warnings, hidden_parts
from tests.support.pages import NewPage, Screenshot, tid

pytestmark = pytest.mark.browser

NARROW = ViewportSize(width=360, height=800)
WIDE = ViewportSize(width=1280, height=800)
AGENT = "A42"
SAID = "我要投诉我们那个装修公司老板欠了我四个月工资两万八一直躲着不见电话也不接你们到底管不管"

# Every box inside the card slot that hides part of what it holds (its content is taller or wider
# than it, and it clips): allowed only for the slot's one scrolling column while its 下方还有 mark shows
# (or it is scrolled to its end), and for a text clamped inside a compact card that shows 更多.
UNMARKED_CLIPS_JS = """() => {
  const bad = [];
  const slot = document.querySelector('[data-testid="card-slot"]');
  const mark = slot.querySelector('[data-testid="more-below"]');
  const shown = (n) => n && n.getClientRects().length > 0 && getComputedStyle(n).visibility !== "hidden";
  for (const node of [slot, ...slot.querySelectorAll("*")]) {
    if (!shown(node)) continue;
    const s = getComputedStyle(node);
    if (s.overflowY === "visible" && s.overflowX === "visible") continue;
    const below = node.scrollHeight - node.scrollTop - node.clientHeight > 1;
    const across = node.scrollWidth - node.clientWidth > 1;
    if (!below && !across) continue;
    if (node.dataset.testid === "slot-scroll" && !across) {
      if (!shown(mark)) bad.push("the card column has more below and no 下方还有 mark");
      continue;
    }
    const card = node.closest('[data-testid="card"]');
    const more = card && card.querySelector('[data-testid="card-more"]');
    if (card && card.dataset.more === "true" && shown(more) && more.textContent.includes("更多")) continue;
    bad.push(`${node.className || node.tagName} in ${card ? card.dataset.kind : "the slot"} is cut with no mark`);
  }
  return bad;
}"""


def assert_nothing_cut_without_a_mark(page: Page) -> None:
    bad = page.evaluate(UNMARKED_CLIPS_JS)
    assert bad == [], bad


def first_line(card: Locator) -> Locator:
    """What a card must show first: the number, the step to say now, the knowledge question."""
    kind = card.get_attribute("data-kind")
    part = {"referral": ".ref-main", "empathy": ".step-now", "knowledge": ".kb-question"}[str(kind)]
    return card.locator(part)


def start_wage_call(server: FakeServer, call: str, *, crisis: bool = False, safety: bool = False) -> None:
    """Trial 4's f2 (wage arrears, angry): two referrals, the empathy script and a knowledge answer."""
    server.push(CallStarted(call, AGENT, time.time() - 20))
    server.push(Transcript(call, "agent", "w-0", True, "您好一二三四五请问有什么可以帮您", 0.0, 3.0))
    server.push(Transcript(call, "caller", "w-1", True, SAID, 5.0, 15.0))
    server.push(Prompt("w-1:referral:12348", call, "caller", "w-1", "referral", "show", 15.0, None, ReferralPayload(
        "12348", "公共法律服务热线(法律援助)", "涉及民事诉讼、经济或合同纠纷,属司法途径解决",
        "您反映的问题属于民事/经济纠纷,建议您拨打12348公共法律服务热线咨询,符合条件的可以申请法律援助。")))
    server.push(Prompt("w-1:referral:12333", call, "caller", "w-1", "referral", "show", 15.1, None, ReferralPayload(
        "12333", "人社服务热线(劳动保障监察)", "拖欠工资属劳动保障监察",
        "欠薪问题可以向劳动保障监察部门投诉,我这边也可以帮您转办人社部门。")))
    server.push(Prompt("w-1:empathy:s", call, "caller", "w-1", "empathy", "show", 15.0, None, EmpathyPayload("愤怒", (
        "我非常理解您现在的心情,换作是我遇到这种情况也会很生气,请您慢慢说,我在认真记录。",
        "非常抱歉给您添麻烦了,此事由人社部门主办,我立即为您转办并跟踪进度。",
        "办结时限为5个工作日,届时会有工作人员联系您。"))))
    server.push(Prompt("w-1:knowledge:kb-1", call, "caller", "w-1", "knowledge", "show", 15.0, None, KnowledgePayload(
        "kb-1", "公司拖欠工资不给怎么办?",
        "用人单位拖欠工资的,可先与单位协商,协商不成可向当地劳动保障监察大队投诉,或向劳动人事争议仲裁委员会申请仲裁;"
        "拖欠数额较大、经政府责令支付仍不支付的,可能构成拒不支付劳动报酬罪。", 0.98, "劳动保障监察条例", "2025-06-01")))
    if safety:
        server.push(Prompt("w-1:safety:0", call, "caller", "w-1", "safety", "show", 15.2, None, SafetyPayload(
            "我很关心您,想直接问一句:您现在有没有伤害自己的打算?您在什么地方?", "可能有自伤自杀风险(模型判断)",
            ("110", "12356"))))
    if crisis:
        server.push(Prompt("w-1:critical:c", call, "caller", "w-1", "critical", "show", 15.3, None, CriticalPayload(
            "来电人扬言持刀/动手伤人,通话涉及暴力伤害威胁,请立即报警(110)并稳住来电人", ("110",))))


def open_overlay(new_page: NewPage, server: FakeServer, viewport: ViewportSize) -> Page:
    page = new_page(viewport=viewport)
    page.goto(f"{server.base_url}/?agent={AGENT}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    return page


def test_at_360_the_three_cards_fit_compact_with_whole_lines_and_a_more_mark(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = open_overlay(new_page, fake_server, NARROW)
    start_wage_call(fake_server, "t4-f2")
    cards = page.locator(f"{tid('card')}:visible")
    expect(cards).to_have_count(3)
    expect(page.locator(tid("card-slot"))).to_have_attribute("data-compact", "")
    page.wait_for_timeout(100)  # the fit after the last card's layout
    # all three cards whole in the slot, in their order, without scrolling anything
    assert [c.get_attribute("data-kind") for c in cards.all()] == ["referral", "empathy", "knowledge"]
    for card in cards.all():
        kind = card.get_attribute("data-kind")
        assert hidden_parts(card)[:2] == [0, 0], f"the {kind} card is not whole in the slot"
        assert hidden_parts(first_line(card))[:2] == [0, 0], f"the {kind} card's first line is cut"
        expect(card.locator(tid("card-more"))).to_have_text("更多 ▾")
    expect(page.locator(tid("more-below"))).to_be_hidden()
    # 另有 1 条 sits on the referral card's first line, in view (trial 4: hidden below the cut)
    older = page.locator(f"{tid('kind-more')}:visible")
    expect(older).to_have_text("另有 1 条")
    assert hidden_parts(older)[:2] == [0, 0]
    assert_nothing_cut_without_a_mark(page)
    assert_slot_above_transcript(page)
    screenshot(page, "compact")
    # 更多 opens one card in full: the knowledge answer's source shows; the column scrolls as one,
    # with its mark, and nothing is cut without one
    kb = page.locator(f'{tid("card")}[data-kind="knowledge"]')
    expect(kb.locator(tid("kb-meta"))).to_be_hidden()
    kb.locator(tid("card-more")).click()
    expect(kb).to_have_attribute("data-expanded", "")
    expect(kb.locator(tid("card-more"))).to_have_text("收起 ▴")
    kb.locator(tid("kb-meta")).scroll_into_view_if_needed()
    expect(kb.locator(tid("kb-meta"))).to_contain_text("劳动保障监察条例")
    assert_nothing_cut_without_a_mark(page)
    # a click on a compact card opens it too; an update of the card keeps it open
    page.locator(tid("slot-scroll")).evaluate("b => { b.scrollTop = 0; }")
    empathy = page.locator(f'{tid("card")}[data-kind="empathy"]')
    empathy.locator(".step-now .step-text").click()
    expect(empathy).to_have_attribute("data-expanded", "")
    expect(empathy.locator(tid("empathy-more"))).to_be_visible()
    updated = KnowledgePayload("kb-1", "公司拖欠工资不给怎么办?", "已更新的答案", 0.98, "劳动保障监察条例", "2025-06")
    fake_server.push(Prompt("w-1:knowledge:kb-1", "t4-f2", "caller", "w-1", "knowledge", "update", 15.0, None, updated))
    expect(kb.locator(tid("kb-answer"))).to_have_text("已更新的答案")
    expect(page.locator(f'{tid("card")}[data-kind="knowledge"]')).to_have_attribute("data-expanded", "")
    screenshot(page, "expanded")
    # folded again, the three fit again
    page.locator(f'{tid("card")}[data-kind="knowledge"] {tid("card-more")}').click()
    empathy.locator(tid("card-more")).click()
    page.wait_for_timeout(100)
    expect(page.locator(tid("more-below"))).to_be_hidden()
    assert_nothing_cut_without_a_mark(page)


@pytest.mark.parametrize("banner", ["crisis", "safety"])
def test_at_360_under_a_banner_the_banner_is_whole_on_top_and_no_card_is_cut_without_a_mark(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot, banner: str
) -> None:
    page = open_overlay(new_page, fake_server, NARROW)
    start_wage_call(fake_server, "t4-f2", crisis=banner == "crisis", safety=banner == "safety")
    top = page.locator(tid("critical-banner" if banner == "crisis" else "safety-banner"))
    expect(top).to_be_visible()
    if banner == "crisis":
        dismiss_warnings(page)
        page.locator(tid("routine-toggle")).click()
    cards = page.locator(f"{tid('card')}:visible")
    expect(cards).to_have_count(3)
    page.wait_for_timeout(100)
    # the banner is the first thing in the column, whole (crisis first, then the safety question)
    slot_top = page.locator(tid("slot-scroll")).bounding_box()
    box = top.bounding_box()
    assert slot_top is not None and box is not None and abs(box["y"] - slot_top["y"]) <= 2
    assert hidden_parts(top)[:2] == [0, 0]
    assert_nothing_cut_without_a_mark(page)
    screenshot(page, banner)
    # in the one column every card's first line can be brought into view, the 转介 one first, and the
    # column's end shows no mark
    slot = page.locator(tid("slot-scroll"))
    ys = []
    for card in cards.all():
        line = first_line(card)
        line.scroll_into_view_if_needed()
        page.wait_for_timeout(50)
        assert hidden_parts(line)[:2] == [0, 0], f"the {card.get_attribute('data-kind')} card's first line is cut"
        if banner == "crisis":
            assert hidden_parts(page.locator(f"{tid('critical-banner')} .critical-head"))[:2] == [0, 0]
        assert_nothing_cut_without_a_mark(page)
        box = card.bounding_box()
        assert box is not None
        ys.append(box["y"] + slot.evaluate("b => b.scrollTop"))
    assert ys == sorted(ys)
    slot.evaluate("b => { b.scrollTop = b.scrollHeight; }")
    expect(page.locator(tid("more-below"))).to_be_hidden()


def test_at_1280_the_cards_stay_in_full_when_they_fit(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = open_overlay(new_page, fake_server, WIDE)
    start_wage_call(fake_server, "t4-f2")
    cards = page.locator(f"{tid('card')}:visible")
    expect(cards).to_have_count(3)
    page.wait_for_timeout(100)
    expect(page.locator(tid("card-slot"))).not_to_have_attribute("data-compact", "")
    for card in cards.all():
        assert hidden_parts(card)[:2] == [0, 0]
        expect(card.locator(tid("card-more"))).to_be_hidden()
    expect(page.locator(f'{tid("card")}[data-kind="referral"] {tid("card-script")}:visible')).to_have_count(1)
    expect(page.locator(tid("kb-meta"))).to_be_visible()
    expect(page.locator(tid("empathy-more"))).to_be_visible()
    expect(page.locator(tid("more-below"))).to_be_hidden()
    assert_nothing_cut_without_a_mark(page)
    screenshot(page, "wide")
