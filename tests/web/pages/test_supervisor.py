"""The supervisor dashboard against the fake server, in headless Chromium."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from assist.protocol.enums import CallMode
from assist.protocol.events import (
    Alert,
    CallEnded,
    CallStarted,
    CallState,
    CallSummary,
    EmotionLevel,
    Prompt,
    Transcript,
)
from assist.protocol.payloads import CriticalPayload
from tests.support.fake_page_server import FakeServer
from tests.support.pages import DESKTOP_VIEWPORT, NewPage, Screenshot, tid
from tests.support.scenario import AGENT, BANNED_PHRASE, CALL

pytestmark = pytest.mark.browser


def open_supervisor(new_page: NewPage, server: FakeServer, name: str) -> Page:
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{server.base_url}/supervisor?name={name}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    return page


def test_alert_acknowledged_by_one_supervisor_shows_for_the_other(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    first = open_supervisor(new_page, fake_server, "王组长")
    second = open_supervisor(new_page, fake_server, "李组长")

    banned = first.locator(f'{tid("alert")}[data-alert-id="al-1"]')
    expect(banned).to_contain_text(BANNED_PHRASE)
    expect(banned).to_have_attribute("data-kind", "banned")
    expect(first.locator(f'{tid("alert")}[data-kind="critical"]')).to_contain_text("12356")
    expect(first.locator(f'{tid("alert")}[data-kind="escalation"]')).to_have_count(1)
    # open alerts by severity, then the one waiting longest first
    order = first.locator(tid("alert")).evaluate_all("ns => ns.map(n => n.dataset.alertId)")
    assert order == ["al-2", "al-3", "al-1"]
    pinned = first.locator(tid("pinned-critical"))
    expect(pinned).to_have_count(1)
    expect(pinned.locator(tid("pinned-reason"))).to_have_text("轻生/自伤")
    expect(pinned.locator(tid("pinned-agent"))).to_have_text("坐席 A01")

    rows = first.locator(tid("call-row"))
    expect(rows).to_have_count(3)
    row = first.locator(f'{tid("call-row")}[data-call-id="{CALL}"]')
    expect(row.locator(tid("critical-marker"))).to_have_text("危急 · 轻生/自伤")
    expect(row.locator(tid("call-alerts-open"))).to_have_attribute("data-open", "2")
    expect(row.locator(tid("call-category"))).to_contain_text("求助")
    expect(row.locator(tid("emotion-chip"))).to_have_attribute("data-level", "high")
    expect(row.locator(tid("call-warnings"))).to_have_text("1")
    expect(first.locator(tid("alerts-open"))).to_have_attribute("data-open", "3")

    second.locator(f'{tid("alert")}[data-alert-id="al-1"] {tid("alert-message")}').click()  # opens its note field
    second.locator(f'{tid("alert")}[data-alert-id="al-1"] {tid("alert-note")}').fill("已提醒坐席")
    second.locator(f'{tid("alert")}[data-alert-id="al-1"] {tid("alert-ack")}').click()
    for page in (first, second):
        done = page.locator(f'{tid("alert")}[data-alert-id="al-1"]')
        expect(done).to_have_attribute("data-acknowledged", "true")
        expect(done.locator(tid("alert-ack-info"))).to_contain_text("已确认 · 李组长")
        expect(done.locator(tid("alert-ack-note"))).to_contain_text("已提醒坐席")
    expect(first.locator(tid("alerts-open"))).to_have_attribute("data-open", "2")
    expect(row.locator(tid("call-alerts-open"))).to_have_attribute("data-open", "1")
    # handled alerts go below the open ones
    expect(first.locator(tid("alert")).last).to_have_attribute("data-alert-id", "al-1")
    assert fake_server.messages("ack") == [{"type": "ack", "alert_id": "al-1", "by": "李组长", "note": "已提醒坐席"}]
    assert fake_server.alert("al-1").acknowledged_by == "李组长"
    screenshot(first, "supervisor")


def test_clicking_a_call_follows_its_transcript_and_prompts(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = open_supervisor(new_page, fake_server, "王组长")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()  # script played
    page.locator(f'{tid("call-row")}[data-call-id="{CALL}"]').click()
    panel = page.locator(tid("call-detail"))
    expect(panel).to_be_visible()
    expect(panel.locator(tid("call-id"))).to_have_text(CALL)
    expect(panel.locator(tid("transcript-line"))).to_have_count(4)
    expect(panel.locator(f'{tid("card")}[data-kind="referral"]')).to_contain_text("12348")
    expect(panel.locator(tid("warning-item"))).to_contain_text(BANNED_PHRASE)

    fake_server.push(Transcript(CALL, "agent", "u-a3", True, "您先别着急,我一直在听。", 20.0, 22.0))
    fake_server.push(Transcript("call-002", "agent", "u2-a9", True, "别的通话", 320.0, 321.0))
    expect(panel.locator('[data-utterance-id="u-a3"]')).to_contain_text("我一直在听")
    expect(panel.locator(tid("transcript-line"))).to_have_count(5)
    screenshot(page, "call-panel")

    page.locator(tid("detail-close")).click()
    expect(panel).to_be_hidden()


def test_ended_calls_stats_and_unknown_events(new_page: NewPage, fake_server: FakeServer) -> None:
    page = open_supervisor(new_page, fake_server, "王组长")
    row = page.locator(f'{tid("call-row")}[data-call-id="call-002"]')
    expect(row).to_be_visible()
    fake_server.push(CallEnded("call-002", "A02", CallSummary(312.0, {"agent": 3, "caller": 4}, "completed")))
    expect(row.locator(tid("call-status"))).to_contain_text("已结束")
    expect(row.locator(tid("call-duration"))).to_have_text("5:12")
    expect(page.locator(tid("calls-count"))).to_have_text("(2)")

    fake_server.push_raw({"type": "stats", "dropped": 3, "subscribers": 2})
    fake_server.push_raw({"type": "something_new", "call_id": CALL, "value": 1})
    stats = page.locator(tid("stats"))
    expect(stats).to_contain_text("丢弃事件 3")
    expect(stats).to_contain_text("订阅者 2")



def _training_crisis(call_id: str, started: float) -> tuple[CallState, Prompt]:
    state = CallState(call_id, "T07", started, True, 30.0, EmotionLevel("绝望", 0.57), "求助", "卫健",
                      critical=True, mode=CallMode.TRAINING)
    card = Prompt(f"{call_id}:u-3:critical:0", call_id, "caller", "u-3", "critical", "show", 28.0, None,
                  CriticalPayload("可能有自伤自杀风险(模型判断)", ("12356", "110")))
    return state, card


def test_a_training_crisis_shows_its_reason_without_alerts(new_page: NewPage, fake_server: FakeServer) -> None:
    """Replays send the supervisors no alerts (docs/security.md): the reason comes from the crisis card."""
    page = open_supervisor(new_page, fake_server, "王组长")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"]')).to_be_visible()  # script played
    call = "train-c1b"
    state, card = _training_crisis(call, time.time() - 30)
    fake_server.push(CallStarted(call, "T07", state.started_at, mode=CallMode.TRAINING))
    fake_server.push(card)
    fake_server.push(state)
    row = page.locator(f'{tid("call-row")}[data-call-id="{call}"]')
    expect(row.locator(tid("critical-marker"))).to_have_text("危急 · 轻生/自伤")
    expect(row.locator(tid("call-status"))).to_contain_text("培训")
    expect(page.locator(f'{tid("alert")}[data-call-id="{call}"]')).to_have_count(0)


def test_a_page_opened_during_a_training_crisis_reads_its_reason_from_the_store(
    new_page: NewPage, fake_server: FakeServer
) -> None:
    call = "train-late"
    state, card = _training_crisis(call, time.time() - 60)
    fake_server.scenario.calls.append(state)
    fake_server.scenario.history[call] = {
        "call": {"call_id": call, "agent_id": "T07", "started_at": state.started_at, "ended_at": None,
                 "end_reason": None, "mode": "training", "utterances": 0, "alerts": 0, "first_text": ""},
        "utterances": [], "alerts": [],
        "prompts": [{"prompt_id": card.prompt_id, "kind": "critical", "action": "show", "event": card.to_dict()}],
    }
    page = open_supervisor(new_page, fake_server, "王组长")
    row = page.locator(f'{tid("call-row")}[data-call-id="{call}"]')
    expect(row.locator(tid("critical-marker"))).to_have_text("危急 · 轻生/自伤")


def test_alerts_of_an_ended_call_stay_until_acknowledged(new_page: NewPage, fake_server: FakeServer) -> None:
    page = open_supervisor(new_page, fake_server, "王组长")
    expect(page.locator(f'{tid("alert")}[data-call-id="{CALL}"]')).to_have_count(2)
    fake_server.push(CallEnded(CALL, AGENT, CallSummary(100.0, {"agent": 2, "caller": 2}, "completed")))
    expect(page.locator(f'{tid("call-row")}[data-call-id="{CALL}"] {tid("call-status")}')).to_contain_text("已结束")
    open_alerts = page.locator(f'{tid("alert")}[data-call-id="{CALL}"][data-acknowledged="false"]')
    expect(open_alerts).to_have_count(2)
    expect(page.locator(tid("pinned-critical"))).to_have_count(1)
    # a page opened after the call ended gets them too (the server's snapshot of open alerts)
    later = open_supervisor(new_page, fake_server, "李组长")
    expect(later.locator(f'{tid("alert")}[data-call-id="{CALL}"]')).to_have_count(2)

# Records desktop notifications and beeps instead of making them (headless Chromium has neither).
FAKE_NOTIFY = """() => {
  window.__notes = [];
  window.__beeps = 0;
  class FakeNotification {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, opts) { window.__notes.push({ title, body: opts.body, tag: opts.tag }); }
  }
  window.Notification = FakeNotification;
  class FakeAudio {
    constructor() { this.currentTime = 0; this.destination = {}; }
    createGain() { return { gain: {}, connect() {} }; }
    createOscillator() { return { frequency: {}, connect() {}, start() { window.__beeps += 1; }, stop() {} }; }
  }
  window.AudioContext = FakeAudio;
}"""


def test_filters_keyboard_and_critical_notification(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.add_init_script(f"({FAKE_NOTIFY})()")
    page.goto(f"{fake_server.base_url}/supervisor?name=王组长")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    expect(page.locator(tid("alert"))).to_have_count(3)
    page.locator(tid("alert-sound")).check()
    page.locator(tid("alert-desktop")).check()

    # filters: by severity, kind and agent; the count of what is shown
    page.locator(tid("filter-severity")).select_option("warning")
    expect(page.locator(f'{tid("alert")}:visible')).to_have_count(2)
    expect(page.locator(tid("alerts-shown"))).to_have_text("筛选后显示 2 / 3 条")
    page.locator(tid("filter-severity")).select_option("")
    page.locator(tid("filter-kind")).select_option("escalation")
    expect(page.locator(f'{tid("alert")}:visible')).to_have_count(1)
    page.locator(tid("filter-kind")).select_option("")
    page.locator(tid("filter-agent")).select_option("A03")
    expect(page.locator(f'{tid("alert")}:visible')).to_have_attribute("data-alert-id", "al-3")
    page.locator(tid("filter-agent")).select_option("")

    # keyboard: focus the queue, move down, write a note, acknowledge with Enter
    page.locator(f'{tid("alert")}[data-alert-id="al-2"]').focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.alertId") == "al-3"
    page.keyboard.press("n")
    page.keyboard.type("已介入通话")
    page.keyboard.press("Enter")
    expect(page.locator(f'{tid("alert")}[data-alert-id="al-3"] {tid("alert-ack-note")}')).to_contain_text("已介入通话")
    page.locator(tid("only-open")).check()
    expect(page.locator(f'{tid("alert")}:visible')).to_have_count(2)

    # a new critical alert: pinned with its reason, one sound, one desktop notification
    fake_server.push(Alert("al-9", "call-002", "A02", "critical", "critical",
                           "危机信号:火情、燃气泄漏、被困或落水等紧急险情(119)", 330.0, "u2-c1", time.time()))
    expect(page.locator(tid("pinned-critical"))).to_have_count(2)
    fire = page.locator(f'{tid("pinned-critical")}[data-alert-id="al-9"]')
    expect(fire.locator(tid("pinned-reason"))).to_have_text("火情/险情")
    # a flood's crisis names what it is (trial 6, L2: 有人被困或被水围困 read 火情/险情)
    fake_server.push(Alert("al-10", "call-003", "A03", "critical", "critical",
                           "危机信号:有人被困或被水围困,需要消防救援(119)", 331.0, "u3-c1", time.time()))
    flood = page.locator(f'{tid("pinned-critical")}[data-alert-id="al-10"]')
    expect(flood.locator(tid("pinned-reason"))).to_have_text("被困/落水")
    page.locator(tid("filter-kind")).select_option("petition")  # 信访/舆情 is a kind of the filter (L10)
    expect(page.locator(f'{tid("alert")}:visible')).to_have_count(0)
    page.locator(tid("filter-kind")).select_option("")
    notes = page.evaluate("window.__notes")
    assert [n["tag"] for n in notes][:1] == ["al-9"] and "坐席 A02" in notes[0]["title"]
    assert page.evaluate("window.__beeps") >= 2  # two tones for the alert (plus the test tone when enabled)
    page.locator(f'{tid("alert")}:visible').last.focus()
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.dataset.alertId") == "al-2"
    page.keyboard.press("Enter")
    expect(page.locator(tid("call-detail"))).to_be_visible()
    screenshot(page, "queue")


def test_a_note_being_typed_survives_a_new_copy_of_its_alert(new_page: NewPage, fake_server: FakeServer) -> None:
    page = open_supervisor(new_page, fake_server, "王组长")
    row = page.locator(f'{tid("alert")}[data-alert-id="al-1"]')
    row.locator(tid("alert-message")).click()  # opens its note field
    row.locator(tid("alert-note")).fill("已提醒坐席")
    # the same alert arrives again (another node's copy, a reconnect): its row is redrawn
    fake_server.push(Alert("al-1", CALL, "A01", "banned", "warning", "坐席 A01 使用禁用语(更新)", 13.5, "u-a2",
                           time.time()))
    expect(row.locator(tid("alert-message"))).to_contain_text("更新")
    expect(row.locator(tid("alert-note"))).to_have_value("已提醒坐席")  # (it was lost: the ack then had no note)


def test_an_alert_of_a_call_no_longer_in_the_table_opens_the_stored_call(new_page: NewPage,
                                                                         fake_server: FakeServer) -> None:
    """Trial 6, M10: the call link of an alert (or 查看通话 on a pin) whose call had left the table did nothing."""
    call = "gone-1"
    fake_server.scenario.history[call] = {
        "call": {"call_id": call, "agent_id": "A09", "started_at": time.time() - 300, "ended_at": time.time() - 200,
                 "end_reason": "completed", "mode": "live", "duration": 95.0, "utterances": 1, "alerts": 1,
                 "first_text": "我把存折放在桌子上了"},
        "utterances": [{"utterance_id": "g1", "role": "caller", "text": "我把存折放在桌子上了", "start": 3.0,
                        "end": 5.0}],
        "alerts": [], "prompts": [],
    }
    page = open_supervisor(new_page, fake_server, "王组长")
    fake_server.push(Alert("gone-1:a1", call, "A09", "critical", "critical", "危机信号:来电人话中有告别之意", 5.0, "g1",
                           time.time() - 200))
    alert = page.locator(f'{tid("alert")}[data-call-id="{call}"]')
    expect(alert).to_have_count(1)
    alert.get_by_title("查看这通电话").click()
    panel = page.locator(tid("call-detail"))
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("我把存折放在桌子上了")
    expect(panel).to_contain_text("坐席 A09")
    expect(panel).to_contain_text("已结束")
