"""The supervisor's pinned crises and acknowledgements, in headless Chromium against the fake server
(new-user trial 2): one pinned row per call, live calls' crises first and the newest on top, ended
calls' below; 确认 and 确认并备注… work on the first click and the note goes with the acknowledgement;
the calls table keeps its 状态 column in view at 1280 px, with and without 通话详情."""

from __future__ import annotations

import dataclasses
import time

import pytest
from playwright.sync_api import Page, expect

from assist.protocol.events import Alert, CallEnded, CallStarted, CallState, CallSummary, EmotionLevel
from tests.support.fake_page_server import FakeServer
from tests.support.pages import DESKTOP_VIEWPORT, NewPage, Screenshot, tid
from tests.support.scenario import AGENT, CALL

pytestmark = pytest.mark.browser

FIRE = "危机信号:火情、燃气泄漏、被困或落水等紧急险情(119)"
HURT = "危机信号:可能有医疗急症风险(模型判断)"
SELF_HARM = "危机信号:可能有自伤自杀风险(模型判断)"


def open_supervisor(new_page: NewPage, server: FakeServer, name: str = "王组长") -> Page:
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{server.base_url}/supervisor?name={name}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()  # the script played
    return page


def pinned_calls(page: Page) -> list[str]:
    order: list[str] = page.locator(tid("pinned-critical")).evaluate_all("ns => ns.map(n => n.dataset.callId)")
    return order


def critical(alert_id: str, call_id: str, agent: str, message: str, created: float) -> Alert:
    return Alert(alert_id, call_id, agent, "critical", "critical", message, 30.0, None, created)


def test_live_crises_are_pinned_first_newest_on_top_one_row_per_call(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = open_supervisor(new_page, fake_server)
    now = time.time()
    # the showcase call's crisis (al-2) is older, and its call ends: its row goes below the live ones
    fake_server.push(CallEnded(CALL, AGENT, CallSummary(100.0, {"agent": 2, "caller": 2}, "completed")))
    ended = page.locator(f'{tid("pinned-critical")}[data-call-id="{CALL}"]')
    expect(ended).to_have_attribute("data-live", "false")
    expect(ended.locator(tid("pinned-call-state"))).to_have_text("通话已结束")
    # re-raised in the ended call: still one row for it, now counting two
    fake_server.push(critical("al-4", CALL, AGENT, SELF_HARM, now - 0.5))
    expect(ended).to_have_attribute("data-count", "2")
    expect(ended.locator(tid("pinned-count"))).to_have_text("共 2 次")
    # two live calls raise a crisis, the later one last: it is on top, above the older live one,
    # and both are above the ended call's row however long that one has waited
    fake_server.push(critical("al-10", "call-002", "A02", HURT, now))
    expect(page.locator(tid("pinned-critical"))).to_have_count(2)
    fake_server.push(critical("al-11", "call-003", "A03", FIRE, now + 1))
    expect(page.locator(tid("pinned-critical"))).to_have_count(3)
    assert pinned_calls(page) == ["call-003", "call-002", CALL]
    # call-002's crisis is raised again, with another reason: its row is updated in place, no new pin
    fake_server.push(critical("al-12", "call-002", "A02", SELF_HARM, now + 2))
    row = page.locator(f'{tid("pinned-critical")}[data-call-id="call-002"]')
    expect(row.locator(tid("pinned-reason"))).to_have_text("轻生/自伤")
    expect(row.locator(tid("pinned-count"))).to_have_text("共 2 次")
    expect(row).to_have_attribute("data-alert-ids", "al-10 al-12")
    expect(page.locator(tid("pinned-critical"))).to_have_count(3)
    assert pinned_calls(page) == ["call-003", "call-002", CALL]
    expect(page.locator(f'{tid("pinned-critical")}[data-call-id="call-003"] {tid("pinned-call-state")}')).to_be_hidden()
    # the new live crisis is in view at the top of the pinned list, not scrolled away below
    top = page.locator(tid("pinned-critical")).first
    expect(top).to_be_in_viewport()
    # a call that ends moves its row below the live ones
    fake_server.push(CallEnded("call-003", "A03", CallSummary(50.0, {"agent": 2, "caller": 2}, "completed")))
    expect(page.locator(f'{tid("pinned-critical")}[data-call-id="call-003"]')).to_have_attribute("data-live", "false")
    assert pinned_calls(page) == ["call-002", "call-003", CALL]
    screenshot(page, "pinned")

    # a page opened now: the server's snapshot lists only live calls, and the alerts of the ended
    # call-003 (open alerts are in the snapshot) sit below the live call-002's
    fake_server.scenario.calls = [c for c in fake_server.scenario.calls if c.call_id != "call-003"]
    later = open_supervisor(new_page, fake_server, "李组长")
    expect(later.locator(f'{tid("pinned-critical")}[data-call-id="call-003"]')).to_have_attribute("data-live", "false")
    order = pinned_calls(later)
    assert order.index("call-002") < order.index("call-003")


def test_pinned_ack_with_a_note_works_on_the_first_click(new_page: NewPage, fake_server: FakeServer) -> None:
    page = open_supervisor(new_page, fake_server)
    fake_server.push(critical("al-4", CALL, AGENT, SELF_HARM, time.time()))
    pin = page.locator(f'{tid("pinned-critical")}[data-call-id="{CALL}"]')
    expect(pin).to_have_attribute("data-count", "2")
    pin.locator(tid("pinned-ack-note")).click()  # one click: the note field opens, focused
    note = pin.locator(tid("pinned-note"))
    expect(note).to_be_visible()
    expect(note).to_be_focused()
    page.keyboard.type("误报,已与坐席核实")
    page.keyboard.press("Enter")
    expect(page.locator(tid("pinned-critical"))).to_have_count(0)
    acks = sorted(fake_server.messages("ack"), key=lambda m: str(m["alert_id"]))
    assert acks == [
        {"type": "ack", "alert_id": "al-2", "by": "王组长", "note": "误报,已与坐席核实"},
        {"type": "ack", "alert_id": "al-4", "by": "王组长", "note": "误报,已与坐席核实"},
    ]
    for alert_id in ("al-2", "al-4"):
        item = page.locator(f'{tid("alert")}[data-alert-id="{alert_id}"]')
        expect(item).to_have_attribute("data-acknowledged", "true")
        expect(item.locator(tid("alert-ack-note"))).to_contain_text("误报,已与坐席核实")
    assert fake_server.alert("al-4").ack_note == "误报,已与坐席核实"


def test_pinned_plain_ack_and_the_note_send_button(new_page: NewPage, fake_server: FakeServer) -> None:
    page = open_supervisor(new_page, fake_server)
    fake_server.push(critical("al-10", "call-002", "A02", HURT, time.time()))
    own = page.locator(f'{tid("pinned-critical")}[data-call-id="{CALL}"]')
    other = page.locator(f'{tid("pinned-critical")}[data-call-id="call-002"]')
    expect(other).to_be_visible()
    own.locator(tid("pinned-ack")).click()
    expect(own).to_have_count(0)
    assert fake_server.messages("ack") == [{"type": "ack", "alert_id": "al-2", "by": "王组长"}]
    other.locator(tid("pinned-ack-note")).click()
    other.locator(tid("pinned-note")).fill("已介入通话")
    other.locator(tid("pinned-note-send")).click()
    expect(page.locator(tid("pinned-critical"))).to_have_count(0)
    assert fake_server.messages("ack")[-1] == {"type": "ack", "alert_id": "al-10", "by": "王组长", "note": "已介入通话"}


def test_the_queue_ack_button_acknowledges_on_the_first_click(new_page: NewPage, fake_server: FakeServer) -> None:
    page = open_supervisor(new_page, fake_server)
    for alert_id in ("al-1", "al-2", "al-3"):  # the button stays where it is when its row opens (note field)
        item = page.locator(f'{tid("alert")}[data-alert-id="{alert_id}"]')
        before = item.locator(tid("alert-ack")).bounding_box()
        item.focus()
        expect(item.locator(tid("alert-note"))).to_be_visible()
        assert item.locator(tid("alert-ack")).bounding_box() == before, f"{alert_id}: 确认 moved when its row opened"
        page.locator(tid("supervisor-name")).focus()
    item = page.locator(f'{tid("alert")}[data-alert-id="al-3"]')
    box = item.locator(tid("alert-ack")).bounding_box()
    assert box is not None
    # one press and release of the mouse where the button is, on a row that is not selected yet
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(item).to_have_attribute("data-acknowledged", "true")
    assert fake_server.messages("ack") == [{"type": "ack", "alert_id": "al-3", "by": "王组长"}]


STATUS_IN_VIEW_JS = """() => {
  const wrap = document.querySelector(".calls-panel .table-wrap").getBoundingClientRect();
  return [...document.querySelectorAll('[data-testid="call-row"]')].map((row) => {
    const cell = row.querySelector('[data-testid="call-status"]');
    const r = cell.getBoundingClientRect();
    const shown = getComputedStyle(cell).display !== "none" && r.width > 0;
    return [row.dataset.callId, shown, Math.round(r.right - wrap.right), cell.scrollWidth - cell.clientWidth];
  });
}"""


def assert_status_in_view(page: Page) -> None:
    for call_id, shown, past_right, overflow in page.evaluate(STATUS_IN_VIEW_JS):
        assert shown, f"{call_id}: the 状态 column is hidden"
        assert past_right <= 0, f"{call_id}: the 状态 cell ends {past_right} px right of the table's view"
        assert overflow <= 0, f"{call_id}: the 状态 cell's content is {overflow} px wider than the cell"


def test_the_status_column_stays_in_view_with_long_call_ids_and_the_call_panel(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = open_supervisor(new_page, fake_server)
    now = time.time()
    for call_id, agent in (("t2-d5-juzhuzheng-48870", "A05"), ("t2-d6-dv-whisper-49204", "A06")):
        fake_server.push(CallStarted(call_id, agent, now - 96))
        fake_server.push(CallState(call_id, agent, now - 96, True, 96.0, EmotionLevel("焦虑", 0.82), "求助", "公安",
                                   warnings=2, critical=True))
        fake_server.push(critical(f"{call_id}-a1", call_id, agent, SELF_HARM, now))
    summary = CallSummary(96.0, {"agent": 6, "caller": 7}, "completed")
    fake_server.push(CallEnded("t2-d5-juzhuzheng-48870", "A05", summary))
    row = page.locator(f'{tid("call-row")}[data-call-id="t2-d5-juzhuzheng-48870"]')
    expect(row.locator(tid("call-status"))).to_contain_text("已结束")
    expect(row.locator(tid("critical-marker"))).to_have_text("危急 · 轻生/自伤")
    assert_status_in_view(page)
    page.locator(f'{tid("call-row")}[data-call-id="t2-d6-dv-whisper-49204"]').click()
    expect(page.locator(tid("call-detail"))).to_be_visible()
    expect(row.locator(tid("critical-marker"))).to_be_visible()
    assert_status_in_view(page)
    screenshot(page, "detail-open")


def test_a_half_typed_note_keeps_its_focus_and_caret_when_the_row_moves(new_page: NewPage,
                                                                        fake_server: FakeServer) -> None:
    page = open_supervisor(new_page, fake_server)
    fake_server.push(critical("al-10", "call-002", "A02", HURT, time.time()))  # the newer crisis: on top
    expect(page.locator(tid("pinned-critical"))).to_have_count(2)
    assert pinned_calls(page) == ["call-002", CALL]
    pin = page.locator(f'{tid("pinned-critical")}[data-call-id="{CALL}"]')
    pin.locator(tid("pinned-ack-note")).click()
    note = pin.locator(tid("pinned-note"))
    expect(note).to_be_focused()
    page.keyboard.type("已与坐席核实")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # the caret before 核实
    # call-002 ends: its row goes below the live call's, so this row moves up while the note is being typed
    fake_server.push(CallEnded("call-002", "A02", CallSummary(50.0, {"agent": 2, "caller": 2}, "completed")))
    expect(page.locator(f'{tid("pinned-critical")}[data-call-id="call-002"]')).to_have_attribute("data-live", "false")
    assert pinned_calls(page) == [CALL, "call-002"]
    expect(note).to_be_focused()
    expect(note).to_be_visible()
    page.keyboard.type("情况")  # goes where the caret was
    expect(note).to_have_value("已与坐席情况核实")
    page.keyboard.press("Enter")
    expect(pin).to_have_count(0)
    ack = {"type": "ack", "alert_id": "al-2", "by": "王组长", "note": "已与坐席情况核实"}
    assert fake_server.messages("ack")[-1] == ack


def test_an_acknowledged_continuing_crisis_is_not_pinned_again(new_page: NewPage, fake_server: FakeServer) -> None:
    """Trial 3 (e6): a continuing crisis is one alert the server re-sends with its count; acknowledged, its
    re-raises update the queue row without pinning it again, and an escalation (a new alert) pins again."""
    page = open_supervisor(new_page, fake_server)
    now = time.time()
    violence = "危机信号:可能有暴力风险(模型判断)"
    first = critical("al-20", "call-004", "A36", violence, now)
    fake_server.push(first)
    pin = page.locator(f'{tid("pinned-critical")}[data-call-id="call-004"]')
    expect(pin).to_be_visible()
    fake_server.push(dataclasses.replace(first, count=3, last_time=64.0, last_at=now + 20))
    expect(pin.locator(tid("pinned-count"))).to_have_text("共 3 次")
    expect(pin).to_have_attribute("data-alert-ids", "al-20")
    item = page.locator(f'{tid("alert")}[data-alert-id="al-20"]')
    expect(item).to_have_count(1)
    expect(item.locator(tid("alert-count"))).to_contain_text("同一危机共 3 次")
    pin.locator(tid("pinned-ack")).click()
    expect(item).to_have_attribute("data-acknowledged", "true")
    expect(pin).to_have_count(0)
    # re-raised after the acknowledgement: the same alert, its count updated, still acknowledged, not pinned
    fake_server.push(dataclasses.replace(first, count=4, last_time=78.0, last_at=now + 40))
    expect(item.locator(tid("alert-count"))).to_contain_text("同一危机共 4 次")
    expect(item).to_have_attribute("data-acknowledged", "true")
    expect(page.locator(f'{tid("pinned-critical")}[data-call-id="call-004"]')).to_have_count(0)
    # an escalation is a new alert: pinned again
    fake_server.push(critical("al-21", "call-004", "A36", "危机信号:可能有自伤自杀风险(模型判断)", now + 50))
    expect(page.locator(f'{tid("pinned-critical")}[data-call-id="call-004"]')).to_have_attribute(
        "data-alert-ids", "al-21")


def test_the_call_row_names_the_calls_newest_crisis(new_page: NewPage, fake_server: FakeServer) -> None:
    """Trial 5, b: the crisis went 其他危险 → 急症/受伤 and the row kept "危急 · 其他危险"."""
    page = open_supervisor(new_page, fake_server)
    now = time.time()
    call_id, agent = "t5-b-neighbour-smell", "A02"
    fake_server.push(CallStarted(call_id, agent, now - 60))
    fake_server.push(CallState(call_id, agent, now - 60, True, 60.0, EmotionLevel("焦虑", 0.6), "求助", "公安",
                               critical=True))
    fake_server.push(Alert("b-1", call_id, agent, "critical", "critical", "危机信号:可能有其他危险风险(模型判断)", 28.9,
                           None, now - 30))
    row = page.locator(f'{tid("call-row")}[data-call-id="{call_id}"]')
    expect(row.locator(tid("critical-marker"))).to_have_text("危急 · 其他危险")
    fake_server.push(Alert("b-2", call_id, agent, "critical", "critical", "危机信号:有人急症或重伤,需要急救(120)", 52.0,
                           None, now))
    expect(row.locator(tid("critical-marker"))).to_have_text("危急 · 急症/受伤")


def test_a_crisis_stood_down_stays_pinned_for_review_marked_as_such(new_page: NewPage,
                                                                   fake_server: FakeServer) -> None:
    """New-user trial 13: after the operator confirmed the caller's correction (a gas smell that was salted
    fish), the supervisor's pin still read 危急·火情 in red; it stays pinned until acknowledged, marked 危急已解除 ·
    请复核 with the stood_down alert's words, and a danger raised again after it turns it red again."""
    page = open_supervisor(new_page, fake_server)
    now = time.time()
    fake_server.push(CallStarted("call-020", "A20", now))
    fake_server.push(critical("al-20", "call-020", "A20", FIRE, now))
    row = page.locator(f'{tid("pinned-critical")}[data-call-id="call-020"]')
    expect(row).to_be_visible()
    expect(row).not_to_have_class("pin pin-stood")
    down = ("危急解除:来电人更正「不是煤气味是腌鱼的味」,坐席确认「跟您确认一下不是煤气泄漏是吧」,来电人答「对对对」;"
            "原建议转接 119,请班长复核")
    fake_server.push(Alert("al-21", "call-020", "A20", "stood_down", "warning", down, 40.0, None, now + 1))
    expect(row.locator(tid("pinned-call-state"))).to_have_text("危急已解除 · 请复核")
    expect(row.locator(tid("pinned-message"))).to_have_text(down)
    expect(row).to_have_class("pin pin-stood")
    fake_server.push(critical("al-22", "call-020", "A20", SELF_HARM, now + 2))  # a danger after it: red again
    expect(row).to_have_class("pin")
    expect(row.locator(tid("pinned-message"))).to_have_text(SELF_HARM)
