"""End to end in headless Chromium against the REAL server (full pipeline, real client pages).

A Chinese call (assist/training/samples/legal-dispute.jsonl) is replayed over ``/ws/call`` at twice real
time, so partial transcripts stream; the operator overlay (``/?agent=a1``) and two supervisor
dashboards (``/supervisor``) are served by the same server and watch it live.  What the pages
show is checked against what the server published (an ``all`` subscriber records it).

The overlay and supervisor screenshots (test-artifacts/) are the README's images:
``python -m tests.support.doc_screenshots`` copies them to docs/img/.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.support.pages import NewPage, Screenshot, tid
from tests.support.real_server import RealServer
from tests.support.samples import sample_lines

pytestmark = pytest.mark.browser

AGENT = "a1"
OVERLAY_SHOT = ViewportSize(width=360, height=860)
DESKTOP_SHOT = ViewportSize(width=1200, height=640)
CALL_SECONDS = 33.0  # audio length of the longer sample call
SPEED = 2.0
LATE = 25_000  # ms: waits for events late in the call (it lasts about 15 s at speed 2)

# Records every distinct (utterance id, final, shown text) of the transcript, so the test can
# tell that partials streamed and were replaced in place.
RECORD_LINES = """() => {
  window.__lines = [];
  const seen = new Set();
  const record = () => {
    for (const n of document.querySelectorAll('[data-testid="transcript-line"]')) {
      const text = n.querySelector(".text").textContent;
      const key = `${n.dataset.utteranceId}|${n.dataset.final}|${text}`;
      if (!seen.has(key)) {
        seen.add(key);
        window.__lines.push([n.dataset.utteranceId, n.dataset.final === "true", text]);
      }
    }
  };
  new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ["data-final"] });
}"""

AT_BOTTOM = "n => n.scrollHeight - n.scrollTop - n.clientHeight <= 48"


def unspaced(text: str) -> str:
    return text.replace(" ", "")


def last_prompt(events: list[dict[str, Any]], call_id: str, kind: str) -> dict[str, Any] | None:
    found = [e for e in events if e["type"] == "prompt" and e["call_id"] == call_id and e["kind"] == kind
             and e["action"] != "withdraw"]
    return found[-1] if found else None


def open_page(page: Page, url: str) -> Page:
    page.goto(url)
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    return page


@pytest.mark.slow
def test_live_call_on_overlay_and_supervisors(
    real_server: RealServer, new_page: NewPage, screenshot: Screenshot
) -> None:
    day = time.strftime("%Y%m%d")
    call = f"{day}-0042"
    overlay = new_page(viewport=OVERLAY_SHOT)
    overlay.clock.install(time=time.time())  # time flows; paused later to hold the warning for the picture
    open_page(overlay, f"{real_server.base_url}/?agent={AGENT}")
    expect(overlay.locator(tid("call-id"))).to_have_text("等待来电…")
    overlay.evaluate(RECORD_LINES)
    sup = open_page(new_page(viewport=DESKTOP_SHOT), f"{real_server.base_url}/supervisor?name=王组长")
    sup2 = open_page(new_page(viewport=DESKTOP_SHOT), f"{real_server.base_url}/supervisor?name=李班长")

    lines = sample_lines("legal-dispute.jsonl")
    replay = real_server.replay(call, AGENT, lines, speed=SPEED)
    # another agent's call at the same time: on the dashboards, never on a1's overlay
    other = real_server.replay(f"{day}-0043", "a7", sample_lines("noise-complaint.jsonl"), speed=SPEED)

    # the overlay follows the agent onto the new call
    expect(overlay.locator(tid("call-id"))).to_have_text(call)

    # banned phrase said by the operator: warning with the words said and the compliant wording
    warning = overlay.locator(tid("banned-warning"))
    expect(warning).to_be_visible(timeout=LATE)
    expect(warning.locator(tid("banned-phrase"))).to_contain_text("你自己去社保局问吧")
    banned = real_server.wait_for(lambda evs: last_prompt(evs, call, "banned"))
    suggestion = banned["data"]["suggestion"]
    assert suggestion and banned["role"] == "agent" and "社保局" in banned["data"]["said"]
    expect(warning.locator(tid("banned-suggestion"))).to_have_text(suggestion)
    agent_line = overlay.locator(f'{tid("transcript-line")}[data-utterance-id="agent-1"]')
    expect(agent_line.locator('mark[data-kind="banned"]')).to_contain_text("社保局")

    # the caller's words, shown without Vosk's spaces between Chinese words
    caller0 = overlay.locator(f'{tid("transcript-line")}[data-utterance-id="caller-0"]')
    expect(caller0).to_have_attribute("data-role", "caller")
    expect(caller0).to_have_attribute("data-final", "true")
    expect(caller0).to_contain_text(unspaced(lines[1]["text"]))

    # knowledge answer for the policy question (公积金提取), updated in place as the question grew
    knowledge = overlay.locator(f'{tid("card")}[data-kind="knowledge"]')
    expect(knowledge).to_have_count(1)
    kb = real_server.wait_for(lambda evs: last_prompt(evs, call, "knowledge"))
    assert kb["data"]["id"] == "gjj-withdraw"
    expect(knowledge).to_contain_text(kb["data"]["question"])
    expect(knowledge).to_contain_text("提取")
    expect(knowledge.locator(tid("kb-answer"))).to_have_text(kb["data"]["answer"])

    # referral for the legal dispute (friend owes money, wants to sue): 12348
    referral = overlay.locator(f'{tid("card")}[data-kind="referral"]')
    expect(referral.locator(tid("referral-number"))).to_have_text("12348", timeout=LATE)
    expect(referral.locator(tid("card-script"))).to_contain_text("12348")

    # the caller got angry: emotion meter and the three-step empathy script
    expect(overlay.locator(tid("emotion-meter"))).to_have_attribute("data-label", "愤怒", timeout=LATE)
    empathy = overlay.locator(f'{tid("card")}[data-kind="empathy"]')
    expect(empathy).to_contain_text("来电人愤怒")
    for step in ("情绪承接", "责任表态", "行动承诺"):
        expect(empathy).to_contain_text(step)
    expect(overlay.locator(tid("category-badge"))).not_to_have_text("未分类")

    # hold the page's timers (the warning stays up) for the picture, then let 9 s pass
    overlay.clock.pause_at(overlay.evaluate("Date.now()") / 1000 + 0.05)
    if warning.is_visible():
        overlay.wait_for_timeout(800)  # the flash animation settles
    screenshot(overlay, "overlay")
    overlay.clock.fast_forward(9000)
    overlay.clock.resume()
    expect(warning).to_be_hidden()
    expect(overlay.locator(tid("warning-item"))).to_contain_text(suggestion)

    # the operator scrolls the transcript up: it stops following; "↓ 有新内容" brings it back
    # (on a shorter screen, where the lines so far no longer fit)
    overlay.set_viewport_size({"width": 360, "height": 640})
    transcript = overlay.locator(tid("transcript"))
    jump = overlay.locator(tid("jump-latest"))
    expect(jump).to_be_hidden()
    transcript.hover()
    overlay.mouse.wheel(0, -3000)
    expect(jump).to_be_visible(timeout=LATE)  # the next words of the call arrived meanwhile
    jump.click()
    expect(jump).to_be_hidden()
    assert transcript.evaluate(AT_BOTTOM)

    expect(overlay.locator(tid("call-id"))).to_have_text(call)
    expect(overlay.locator(tid("call-agent"))).to_have_text(f"坐席 {AGENT}")

    # supervisors: the same banned-phrase alert, acknowledged by one, seen by both
    alert = real_server.wait_for(
        lambda evs: next((e for e in evs if e["type"] == "alert" and e["call_id"] == call
                          and e["kind"] == "banned"), None))
    selector = f'{tid("alert")}[data-alert-id="{alert["alert_id"]}"]'
    for page in (sup, sup2):
        item = page.locator(selector)
        expect(item).to_have_attribute("data-kind", "banned")
        expect(item.locator(tid("alert-message"))).to_have_text(alert["message"])
        expect(item).to_contain_text("社保局")
        expect(item).to_contain_text(suggestion)
        expect(item).to_have_attribute("data-acknowledged", "false")
    sup.locator(f'{selector} {tid("alert-ack")}').click()
    for page in (sup, sup2):
        item = page.locator(selector)
        expect(item).to_have_attribute("data-acknowledged", "true")
        expect(item.locator(tid("alert-ack-info"))).to_contain_text("已确认 · 王组长")
    ack = real_server.wait_for(lambda evs: next((e for e in evs if e["type"] == "alert_ack"), None))
    assert ack["alert_id"] == alert["alert_id"] and ack["by"] == "王组长"

    # the supervisor opens the call: the overlay's view of it
    row = sup.locator(f'{tid("call-row")}[data-call-id="{call}"]')
    expect(row.locator(tid("call-warnings"))).to_have_text("1")
    row.click()
    detail = sup.locator(tid("call-detail"))
    expect(detail.locator(f'{tid("card")}[data-kind="referral"] {tid("referral-number")}')).to_have_text("12348")
    expect(detail.locator(f'{tid("transcript-line")}[data-utterance-id="caller-0"]')).to_contain_text(
        unspaced(lines[1]["text"]))
    sup.wait_for_timeout(300)
    expect(detail.locator(tid("jump-latest"))).to_be_hidden()  # opened at the newest line
    assert detail.locator(tid("transcript")).evaluate(AT_BOTTOM)
    screenshot(sup, "supervisor")

    # the call ends; every utterance shows once, final, and its partials streamed before
    for done in (replay, other):
        ended = done.result(timeout=CALL_SECONDS / SPEED + 30)
        assert ended[-1]["type"] == "ended" and ended[-1]["summary"]["reason"] == "completed"
    expect(sup.locator(tid("call-row"))).to_have_count(2)
    expect(overlay.locator(tid("call-state"))).to_have_text("已结束", timeout=LATE)
    shown = overlay.locator(tid("transcript-line"))
    expect(shown).to_have_count(len(lines))
    ids = shown.evaluate_all("ns => ns.map(n => n.dataset.utteranceId)")
    assert len(ids) == len(set(ids))
    finals = [e for e in real_server.events("transcript") if e["call_id"] == call and e["final"]]
    assert [e["utterance_id"] for e in finals] == ids
    for i, final in enumerate(finals):
        who = "坐席" if final["role"] == "agent" else "来电人"
        expect(shown.nth(i)).to_have_text(f"{who}{fmt_clock(final['start'])}{unspaced(final['text'])}")
    seen: list[list[Any]] = overlay.evaluate("window.__lines")
    partials = [text for uid, final, text in seen if uid == "caller-0" and not final]
    final_text = unspaced(lines[1]["text"])
    assert len(partials) >= 3, seen  # word by word, not one jump to the final
    assert all(final_text.startswith(p) for p in partials)
    expect(sup.locator(f'{tid("call-row")}[data-call-id="{call}"]')).to_contain_text("已结束")
    assert real_server.stats()["subscriber_events_dropped"] == 0


def fmt_clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


def test_overlay_opened_after_the_call_shows_the_stored_call(real_server: RealServer, page: Page) -> None:
    call = "20250611-0007"
    lines = sample_lines("legal-dispute.jsonl")
    events = real_server.replay(call, AGENT, lines, speed=0).result(timeout=30)
    assert events[-1]["type"] == "ended"
    open_page(page, f"{real_server.base_url}/?call={call}")
    # nothing is live any more: the page fills itself from GET /api/calls/ID (the real store)
    shown = page.locator(tid("transcript-line"))
    expect(shown).to_have_count(len(lines))
    expect(shown.first).to_contain_text(unspaced(lines[0]["text"]))
    expect(page.locator(f'{tid("card")}[data-kind="referral"] {tid("referral-number")}')).to_have_text("12348")
    expect(page.locator(f'{tid("card")}[data-kind="knowledge"]')).to_contain_text("公积金")
    # a stored banned phrase goes straight to the list (no flash for the past)
    expect(page.locator(tid("banned-warning"))).to_be_hidden()
    expect(page.locator(tid("warning-item"))).to_contain_text("社保局")
    # the header says the call is over, whose it was, how long and in which mode
    expect(page.locator(tid("call-state"))).to_have_text("已结束")
    expect(page.locator(tid("call-agent"))).to_have_text(f"坐席 {AGENT}")
    expect(page.locator(tid("call-mode"))).to_have_text("实时")
    expect(page.locator(tid("call-duration"))).to_have_text(re.compile(r"^0:\d\d$"))
    expect(page.locator(tid("call-info"))).to_have_attribute("data-state", "ended")


def test_history_report_of_a_stored_call_reads_in_chinese(real_server: RealServer, new_page: NewPage) -> None:
    call = "20250611-0008"
    events = real_server.replay(call, AGENT, sample_lines("noise-complaint.jsonl"), speed=0).result(timeout=30)
    assert events[-1]["type"] == "ended"
    page = new_page(viewport=DESKTOP_SHOT)
    page.goto(f"{real_server.base_url}/history?call={call}")
    report = page.locator(tid("report"))
    expect(report.locator(tid("finding")).first).to_be_visible()
    kinds = report.locator(tid("finding")).evaluate_all("ns => ns.map(n => n.dataset.kind)")
    order = ["critical", "banned", "empathy", "referral", "greeting"]
    assert kinds == sorted(kinds, key=order.index) and "banned" in kinds
    text = report.inner_text()
    for raw in ("not_our_business", "severity", "kind", "agent/caller", "undefined", "null", "××", "{dept}"):
        assert raw not in text, raw
    expect(report.locator(f'{tid("finding")}[data-kind="banned"]').first.locator(tid("finding-better"))).not_to_be_empty()


def test_history_report_of_a_crisis_call_uses_crisis_criteria(real_server: RealServer, new_page: NewPage) -> None:
    call = "20250611-0009"
    scenario = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "fire.jsonl"
    lines = [json.loads(t) for t in scenario.read_text(encoding="utf-8").splitlines() if "119" not in t]
    events = real_server.replay(call, AGENT, lines, speed=0).result(timeout=30)
    assert events[-1]["type"] == "ended"
    page = new_page(viewport=DESKTOP_SHOT)
    page.goto(f"{real_server.base_url}/history?call={call}")
    findings = page.locator(f'{tid("report")} {tid("finding")}')
    expect(findings.first).to_have_attribute("data-kind", "critical")
    expect(page.locator(tid("report"))).to_contain_text("危急来电缺少「转接处置」")
    expect(findings.filter(has_text="转接处置").locator(tid("finding-better"))).to_contain_text("119")
    text = page.locator(tid("report")).inner_text()
    assert "结束语" not in text and "行动承诺" not in text  # not judged by the routine closing or 办结时限
    for raw in ("××", "{number}", "undefined", "null"):
        assert raw not in text, raw


def test_overlay_reopened_after_a_crisis_call_keeps_it_with_the_call_back_step(
        real_server: RealServer, page: Page) -> None:
    """New-user trial 7: after a crisis caller hung up, the overlay offered no call-back step and lost the call on
    reload.  The agent's overlay opened afterwards shows the ended crisis call, its crisis card, and in red the
    numbers never told with the call-back step; the next call of the agent replaces it."""
    agent = "a9"
    lines = [{"role": "agent", "start": 0.0, "end": 1.0, "text": "您好 12345"},
             {"role": "caller", "start": 1.5, "end": 4.0, "text": "我真的不想活了 药我都准备好了"}]
    events = real_server.replay("20250611-0010", agent, lines, speed=0).result(timeout=30)
    assert events[-1]["type"] == "ended"
    open_page(page, f"{real_server.base_url}/?agent={agent}")
    expect(page.locator(tid("call-id"))).to_have_text("20250611-0010")
    expect(page.locator(tid("critical-banner"))).to_have_count(1)
    follow = page.locator(tid("crisis-followup"))
    expect(follow).to_be_visible()
    expect(follow).to_contain_text("未告知")
    expect(follow).to_contain_text("回拨")
    assert follow.get_attribute("data-untold")
    # the agent's next call takes its place
    real_server.replay("20250611-0011", agent, [{"role": "caller", "start": 0.0, "end": 2.0, "text": "我家停水了"}],
                       speed=1).result(timeout=30)
    expect(page.locator(tid("call-id"))).to_have_text("20250611-0011")
    expect(follow).to_be_hidden()
