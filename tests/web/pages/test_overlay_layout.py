"""The overlay's card slot at 360 px under a banner, in headless Chromium: whatever the height of the
危急 or 安全确认 banner, nothing lies over the transcript, 其他提示 can be tapped, and every card
opened under a banner can be read in full (scrolling inside the slot)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from assist.protocol.events import CallStarted, Prompt, Transcript
from assist.protocol.payloads import BannedPayload, CriticalPayload, EmpathyPayload, KnowledgePayload, SafetyPayload
from tests.support.fake_page_server import FakeServer
from tests.support.overlay_checks import assert_slot_above_transcript, dismiss_warnings, hidden_parts
from tests.support.pages import Screenshot, tid
from tests.support.scenario import AGENT, CALL

pytestmark = pytest.mark.browser

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


# ---------------------------------------------------------------- new-user trial 2: what covers the crisis card

# The parts of the crisis card (its headline, numbers and each checklist item) that something else
# lies over: for each, the element found at its centre must be inside the card.
COVERED_JS = """() => {
  const banner = document.querySelector('[data-testid="critical-banner"]');
  const parts = [banner.querySelector(".critical-head"), banner.querySelector(".critical-action"),
                 ...banner.querySelectorAll(".crisis-steps li")];
  return parts.filter(Boolean).filter((p) => {
    const r = p.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !top || !banner.contains(top);
  }).map((p) => p.textContent.trim().slice(0, 12));
}"""


def assert_crisis_card_uncovered(page: Page) -> None:
    covered = page.evaluate(COVERED_JS)
    assert covered == [], f"parts of the crisis card lie under something else: {covered}"


def test_the_banned_phrase_warning_never_covers_the_crisis_card(
    page: Page, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page.clock.install()  # the warning stays up for the whole test
    page.goto(f"{fake_server.base_url}/?call={CALL}")
    # the scenario: the warning comes up, then the crisis card while it is still up
    warning = page.locator(tid("banned-warning"))
    expect(page.locator(tid("critical-banner"))).to_be_visible()
    expect(warning).to_be_visible()
    assert_crisis_card_uncovered(page)
    banner = page.locator(tid("critical-banner")).bounding_box()
    flash = warning.bounding_box()
    assert banner is not None and flash is not None
    assert flash["y"] >= banner["y"] + banner["height"], "the warning must lie below the crisis card"
    screenshot(page, "warning-under-crisis")
    # a warning that comes while the crisis card shows (d2, d6), with a taller card: below it too
    page.locator(f"{tid('banned-warning')} .flash-close").click()
    fake_server.push(Prompt(
        "u-c2:critical:self-harm", CALL, "caller", "u-c2", "critical", "update", 17.2, None,
        CriticalPayload("来电人流露轻生/自伤念头,请立即关注并转介心理援助", ("110", "12356", "120")),
    ))
    said = "您不用说话保持通话就行,如果方便就敲一下话筒"
    fake_server.push(Transcript(CALL, "agent", "u-a4", True, said, 20.0, 24.0))
    fake_server.push(Prompt(
        "u-a4:banned:r9", CALL, "agent", "u-a4", "banned", "show", 24.0, None,
        BannedPayload(rule="learned", said=said, suggestion="请您先不要挂电话,我一直在这里,我马上为您转接110"),
    ))
    expect(warning).to_be_visible()
    expect(warning.locator(tid("banned-phrase"))).to_contain_text("敲一下话筒")
    assert_crisis_card_uncovered(page)
    # the list of this call's warnings, opened from its chip, keeps off the crisis card too
    page.locator(f"{tid('banned-warning')} .flash-close").click()
    page.locator(tid("warnings-toggle")).click()
    expect(page.locator(tid("warnings-list"))).to_be_visible()
    assert_crisis_card_uncovered(page)


def test_no_empty_band_under_the_crisis_card_and_its_headline_stays_with_other_cards_open(
    page: Page, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page.goto(f"{fake_server.base_url}/?call={CALL}")
    expect(page.locator(tid("critical-banner"))).to_have_count(1)
    dismiss_warnings(page)
    toggle = page.locator(tid("routine-toggle"))
    expect(toggle).to_have_text("其他提示 3 条(危急处置中已收起,点击查看)")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # folded: the transcript starts right under the 其他提示 line (d3 t05.png: about 90 px of nothing)
    below = toggle.bounding_box()
    title = page.locator(".transcript-title").bounding_box()
    assert below is not None and title is not None
    gap = title["y"] - (below["y"] + below["height"])
    assert gap <= 16, f"{gap:.0f} px of empty space between the crisis card and the transcript"
    toggle.click()
    expect(toggle).to_have_text("其他提示 3 条(点击收起)")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    # opened: the cards scroll under the crisis card, whose headline stays in view
    head = page.locator(f"{tid('critical-banner')} .critical-head")
    for where in ("0", "b.scrollHeight / 2", "b.scrollHeight"):
        page.locator(tid("slot-scroll")).evaluate(f"b => {{ b.scrollTop = {where}; }}")
        page.wait_for_timeout(50)
        assert hidden_parts(head)[:2] == [0, 0]
        assert_crisis_card_uncovered(page)
    screenshot(page, "routine-open-scrolled")
    toggle.click()
    expect(toggle).to_have_text("其他提示 3 条(危急处置中已收起,点击查看)")


def test_an_empty_referral_slot_leaves_its_room_to_the_cards(
    page: Page, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    """d4 t03.png: an empty 转介 placeholder took ~85 px while the empathy text was cut mid-line."""
    page.goto(f"{fake_server.base_url}/?agent={AGENT}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    said = "我这都第四次打了楼下那个烧烤店天天半夜两点还在吵你们到底管不管"
    fake_server.push(CallStarted("call-n", AGENT, time.time()))
    fake_server.push(Transcript("call-n", "caller", "n-1", True, said, 0.5, 6.0))
    fake_server.push(Prompt(
        "n-1:empathy:s", "call-n", "caller", "n-1", "empathy", "show", 6.0, None,
        EmpathyPayload("愤怒", (
            "我非常理解您现在的心情,换作是我遇到这种情况也会很生气,请您慢慢说,我在认真记录。",
            "这个问题由城管部门负责,我马上为您转办。",
            "办结时限为3至5个工作日,届时会有工作人员联系您。",
        )),
    ))
    fake_server.push(Prompt(
        "n-1:knowledge:kb-9", "call-n", "caller", "n-1", "knowledge", "show", 6.0, None,
        KnowledgePayload("kb-9", "遇到噪音扰民,应该向哪个部门反映?",
                         "噪音扰民按噪声来源由不同部门处理:夜间建筑施工噪声可向生态环境、住建或城管部门反映;"
                         "商业经营噪声由城管或市场监管部门处理;社会生活噪声可报警由公安处理。",
                         0.89, "噪声污染防治指引", "2025-05-01"),
    ))
    expect(page.locator(tid("card"))).to_have_count(2)
    empty = page.locator(f'{tid("kind-slot")}[data-kind="referral"]')
    expect(empty).to_have_attribute("data-count", "0")
    box = empty.bounding_box()
    assert box is not None and box["height"] <= 36, f"the empty 转介 slot takes {box and box['height']:.0f} px"
    screenshot(page, "no-referral")
    # what the operator reads is whole: the empathy step that fits now, the question and the answer's
    # snippet (the card's buttons and source line may scroll inside its kind's slot)
    for part in (".card-empathy .steps li:not(.step-other) .step-text", ".card-knowledge .kb-question",
                 ".card-knowledge .kb-snippet"):
        node = page.locator(part)
        expect(node).to_have_count(1)
        assert hidden_parts(node)[:2] == [0, 0], f"{part} is cut"
    assert_slot_above_transcript(page)
