"""Scripted scenario calls (tests/data/scenarios/*.jsonl) through the REAL server, watched on
the operator overlay at 360×800 in headless Chromium.

For each call the page records, from the moment it is subscribed: the cumulative layout shift
(a PerformanceObserver for 'layout-shift', shifts right after user input excluded, as the
metric defines), every category it displayed, the most critical banners shown at once, and any
template placeholder (××, {dept}, undefined, null, NaN) that reached the screen.  During the call
the test checks what the operator sees at the moments that matter (the crisis number once the
caller says it, the banned-phrase warning while the operator is still on the line…).

After the call, the placeholder scan covers every other view of it too: the supervisor page, the
history page with the call's training report open, the report as JSON (``/api/calls/ID/report``,
every string in it) and the terminal report (``render_text``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from assist.nlp.analyzer import Analyzer
from assist.training.report import build_report
from assist.training.report_text import render_text
from assist.training.stored_report import stored_events
from tests.support.pages import NewPage, Screenshot, tid
from tests.support.real_server import RealServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCENARIOS = Path(__file__).resolve().parents[3] / "tests" / "data" / "scenarios"
VIEWPORT = ViewportSize(width=360, height=800)
SPEED = 2.0
MAX_CLS = 0.1
PLACEHOLDERS = ("××", "{dept}", "{department}", "undefined", "null", "NaN", "[object Object]")

RECORD = """() => {
  const PLACEHOLDERS = __PLACEHOLDERS__;
  window.__cls = 0;
  window.__shifts = [];
  window.__cats = [];
  window.__maxBanners = 0;
  window.__placeholders = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      window.__cls += e.value;
      window.__shifts.push({ t: Math.round(e.startTime), v: e.value,
        nodes: (e.sources || []).map((s) => s.node
          && ((s.node.dataset && s.node.dataset.testid) || s.node.className || s.node.nodeName)) });
    }
  }).observe({ type: "layout-shift", buffered: true });
  let pending = false;
  const check = () => {
    pending = false;
    const badge = document.querySelector('[data-testid="category-badge"]');
    const cat = badge ? badge.dataset.intent : "";
    if (cat && window.__cats[window.__cats.length - 1] !== cat) window.__cats.push(cat);
    const banners = document.querySelectorAll('[data-testid="critical-banner"]').length;
    window.__maxBanners = Math.max(window.__maxBanners, banners);
    const text = document.body ? document.body.innerText : "";
    for (const p of PLACEHOLDERS) {
      if (text.includes(p) && !window.__placeholders.includes(p)) window.__placeholders.push(p);
    }
  };
  new MutationObserver(() => {
    if (!pending) { pending = true; setTimeout(check, 50); }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}""".replace("__PLACEHOLDERS__", json.dumps(list(PLACEHOLDERS), ensure_ascii=False))


@dataclass(frozen=True)
class Scenario:
    name: str
    single_topic: bool
    moments: Callable[[Page], None]  # expectations polled while the call plays
    crisis: str | None = None  # the number the crisis banner must give
    topic: str | None = None  # the category the call must end on (None: several topics)
    extra: dict[str, Any] = field(default_factory=dict)


def crisis_moments(number: str, words: str) -> Callable[[Page], None]:
    def check(page: Page) -> None:
        expect(page.locator(tid("transcript"))).to_contain_text(words, timeout=30_000)
        banner = page.locator(tid("critical-banner"))
        expect(banner).to_have_count(1, timeout=10_000)
        expect(banner.locator(tid("critical-number"))).to_contain_text(number)
        # the checklist: keep the caller on the line, location and callback number, transfer, hand over
        steps = banner.locator(f'{tid("crisis-steps")} li')
        expect(steps).to_have_count(4)
        expect(steps.nth(2)).to_contain_text(number)
        # the routine cards fold behind one line while the crisis banner holds the slot
        expect(page.locator(tid("cards"))).to_be_hidden()
    return check


def fall_moments(page: Page) -> None:
    crisis_moments("120", "摔倒了")(page)
    # the operator says 我不知道 during the crisis: the alternative keeps the caller on the line
    suggestion = page.locator(tid("banned-suggestion"))
    expect(suggestion).to_contain_text("不要挂电话", timeout=30_000)
    expect(suggestion).to_contain_text("120")
    expect(page.locator(tid("critical-banner"))).to_be_visible()  # the warning lies under the banner


def wage_moments(page: Page) -> None:
    warning = page.locator(tid("banned-warning"))
    expect(warning.locator(tid("banned-phrase"))).to_contain_text("不归我们管", timeout=30_000)
    expect(warning).to_be_visible()
    referrals = page.locator(f'{tid("card")}[data-kind="referral"]')
    expect(referrals.filter(has_text="12333")).to_have_count(1, timeout=10_000)
    expect(page.locator(tid("banned-phrase"))).to_contain_text("社保局", timeout=30_000)
    expect(page.locator(tid("warnings-toggle"))).to_have_attribute("data-count", "1")


def consumer_moments(page: Page) -> None:
    referral = page.locator(f'{tid("card")}[data-kind="referral"]')
    expect(referral.locator(tid("referral-number"))).to_have_text("12315", timeout=30_000)
    kb = page.locator(f'{tid("card")}[data-kind="knowledge"]')
    expect(kb.locator(tid("kb-snippet"))).to_be_visible()
    snippet = kb.locator(tid("kb-snippet")).inner_text()
    assert len(snippet.replace("… 展开", "").strip("…")) <= 42
    kb.locator(tid("kb-snippet")).click()  # expands on click
    expect(kb.locator(tid("kb-answer"))).to_be_visible()


def multi_moments(page: Page) -> None:
    kb = page.locator(f'{tid("card")}[data-kind="knowledge"]')
    expect(kb.first).to_contain_text("公积金", timeout=30_000)
    expect(page.locator(tid("kb-meta")).first).to_contain_text("来源")
    expect(kb.locator("mark.kb-hit").first).to_be_visible()  # the caller's words highlighted
    expect(kb.filter(has_text="路灯")).to_have_count(1, timeout=30_000)


def sarcastic_moments(page: Page) -> None:
    expect(page.locator(f'{tid("card")}[data-kind="empathy"]')).to_have_count(1, timeout=30_000)
    empathy = page.locator(f'{tid("card")}[data-kind="empathy"]')
    expect(empathy.locator("li.step-now")).to_have_count(1)  # one step shown, the others one tap away:
    # at 360 px the card is compact from the first one (no card shrinks when the next comes), and its
    # 更多 opens it with the other steps
    expect(empathy.locator("li.step-other:visible")).to_have_count(0)
    empathy.locator(tid("card-more")).click()
    expect(empathy.locator("li.step-other").first).to_be_visible()
    expect(empathy.locator(tid("empathy-more"))).to_have_text("收起")


def praise_moments(page: Page) -> None:
    expect(page.locator(tid("category-badge"))).to_have_text("表扬", timeout=30_000)
    expect(page.locator(tid("transcript"))).to_contain_text("态度也特别好", timeout=30_000)
    expect(page.locator(tid("critical-banner"))).to_have_count(0)
    expect(page.locator(tid("warnings-toggle"))).to_have_attribute("data-count", "0")


SCRIPTS = [
    Scenario("suicide", True, crisis_moments("12356", "不想活了"), crisis="12356", topic="求助"),
    Scenario("domestic-violence", True, crisis_moments("110", "打我"), crisis="110", topic="求助"),
    Scenario("elderly-fall", True, fall_moments, crisis="120", topic="求助"),
    Scenario("fire", True, crisis_moments("119", "着火了"), crisis="119", topic="求助"),
    Scenario("wage-arrears", True, wage_moments, topic="投诉举报"),
    Scenario("consumer-dispute", True, consumer_moments, topic="投诉举报"),
    Scenario("multi-issue", False, multi_moments),
    Scenario("sarcastic-complainer", True, sarcastic_moments, topic="投诉举报"),
    Scenario("praise", True, praise_moments, topic="表扬"),
]


def placeholders_in(text: str) -> list[str]:
    return [p for p in PLACEHOLDERS if p in text]


def strings_of(value: Any) -> Iterator[str]:
    """Every string (and NaN, as text) in a JSON document: its null values are JSON, not text."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, float) and math.isnan(value):
        yield "NaN"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings_of(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_of(v)


def scan_other_views(server: RealServer, new_page: NewPage, call: str) -> dict[str, list[str]]:
    """Placeholders on the supervisor page, the history page with the report, and in both reports."""
    found: dict[str, list[str]] = {}
    sup = new_page(viewport=ViewportSize(width=1280, height=800))
    sup.goto(f"{server.base_url}/supervisor?name=scan")
    expect(sup.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    sup.wait_for_timeout(300)
    found["supervisor"] = placeholders_in(sup.locator("body").inner_text())
    history = new_page(viewport=ViewportSize(width=1280, height=900))
    history.goto(f"{server.base_url}/history?call={call}")
    expect(history.locator(tid("report-summary"))).to_be_visible(timeout=10_000)
    found["history"] = placeholders_in(history.locator("body").inner_text())
    with urlopen(f"{server.base_url}/api/calls/{call}/report", timeout=10) as resp:
        report = json.loads(resp.read())
    found["report.json"] = sorted({p for text in strings_of(report) for p in placeholders_in(text)})
    assert server.store is not None
    stored = server.run(server.store.get_call(call))
    found["report.txt"] = placeholders_in(render_text(build_report(stored_events(stored))))
    return {view: hits for view, hits in found.items() if hits}


def lines_of(name: str) -> list[dict[str, Any]]:
    text = (SCENARIOS / f"{name}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    real = RealServer(tmp_path_factory.mktemp("scenarios") / "calls.sqlite3", Analyzer.load()).start()
    yield real
    real.close()


@pytest.mark.parametrize("scenario", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_scenario_call_on_the_overlay(
    scenario: Scenario, server: RealServer, new_page: NewPage, screenshot: Screenshot
) -> None:
    agent = f"S-{scenario.name}"
    page = new_page(viewport=VIEWPORT)
    page.add_init_script(f"({RECORD})()")
    page.goto(f"{server.base_url}/?agent={agent}")
    expect(page.locator(tid("connection-status"))).to_have_attribute("data-state", "open")
    page.evaluate("window.__cls = 0; window.__shifts = []")

    call = f"scn-{scenario.name}"
    replay = server.replay(call, agent, lines_of(scenario.name), speed=SPEED)
    scenario.moments(page)
    events = replay.result(timeout=90)
    assert events[-1]["type"] == "ended"
    expect(page.locator(tid("call-state"))).to_have_text("已结束", timeout=10_000)
    page.wait_for_timeout(300)
    screenshot(page, "end")

    cls = page.evaluate("window.__cls")
    shifts = page.evaluate("window.__shifts")
    assert cls <= MAX_CLS, f"cumulative layout shift {cls:.3f} over the call: {shifts}"
    assert page.evaluate("window.__placeholders") == [], "a template placeholder reached the screen"
    assert page.evaluate("window.__maxBanners") <= 1, "more than one critical banner at once"
    if scenario.crisis:
        expect(page.locator(tid("critical-banner"))).to_contain_text(scenario.crisis)
    shown = page.evaluate("window.__cats")
    if scenario.single_topic:
        assert len(shown) - 1 <= 1, f"the displayed category changed {len(shown) - 1} times: {shown}"
    if scenario.topic:  # the call ends on its topic (a crisis is 求助; sarcasm is not praise)
        expect(page.locator(tid("category-badge"))).to_have_text(scenario.topic)
    assert scan_other_views(server, new_page, call) == {}, "a template placeholder reached a page or report"
    print(f"{scenario.name}: CLS {cls:.4f}, categories shown {shown}")
