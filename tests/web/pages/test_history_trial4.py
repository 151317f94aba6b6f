"""The history page's training report on trial 4's calls (tests/data/trial4_training, CC0), replayed through
the real server: a line that did two things is listed once, late empathy is a finding, the knowledge base
having the answer to a question the operator disclaimed is a finding, the findings are not listed a second
time as suggestions, and an alert is dated by the words that raised it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import ViewportSize, expect

from assist.nlp.analyzer import Analyzer
from tests.support.pages import NewPage, tid
from tests.support.real_server import RealServer

pytestmark = pytest.mark.browser

TRIAL4 = Path(__file__).resolve().parents[2] / "data" / "trial4_training"
VIEW = ViewportSize(width=1280, height=900)
EMPATHY = "非常抱歉给您带来不便我理解您的心情您反映的电梯问题我马上记录转到住建部门和街道督促物业维修"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """As `assist serve` loads it: the rules and the shipped learned model (the caller's emotion is its)."""
    return Analyzer.load(learned=True)


def lines(name: str) -> list[dict[str, object]]:
    return [json.loads(t) for t in (TRIAL4 / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if t.strip()]


def test_f6_report_lists_each_line_once_and_says_empathy_came_late(
        real_server: RealServer, new_page: NewPage) -> None:
    call = "t4-f6-history"
    events = real_server.replay(call, "trainee46", lines("f6-training-property"), speed=0).result(timeout=60)
    assert events[-1]["type"] == "ended"
    page = new_page(viewport=VIEW)
    page.goto(f"{real_server.base_url}/history?call={call}")
    report = page.locator(tid("report"))
    late = report.locator(f'{tid("finding")}[data-kind="empathy"]')
    expect(late).to_have_count(1)
    expect(late).to_contain_text("「情绪承接」晚了 45 秒")
    expect(late).to_contain_text("坐席先说了 2 句,其中 2 句是禁用语")
    strengths = report.locator(f'{tid("report-section")}[data-key="strengths"]')
    expect(strengths).to_contain_text(f"情绪承接、责任表态:{EMPATHY}")
    assert strengths.inner_text().count(EMPATHY) == 1
    # the findings are the suggestions: not listed a second time
    expect(report.locator(f'{tid("report-section")}[data-key="suggestions"]')).to_have_count(0)
    assert "改进建议" not in report.inner_text()
    disclaimed = report.locator(f'{tid("finding")}[data-kind="banned"]').filter(has_text="不知道")
    assert disclaimed.locator(tid("finding-better")).inner_text().count("这个问题我帮您查询确认后给您回复") == 1
    # alerts dated by the start of the words that raised them, as the transcript shows them
    times = page.locator(f'{tid("detail-alerts")} .alert-time').all_inner_texts()
    assert [t.split(" · ")[0] for t in times] == ["通话 0:00", "通话 0:16", "通话 0:31"]


def test_f6b_report_says_the_knowledge_base_had_the_answer(real_server: RealServer, new_page: NewPage) -> None:
    call = "t4-f6b-history"
    events = real_server.replay(call, "trainee46", lines("f6b-fund-unknown"), speed=0).result(timeout=60)
    assert events[-1]["type"] == "ended"
    page = new_page(viewport=VIEW)
    page.goto(f"{real_server.base_url}/history?call={call}")
    found = page.locator(f'{tid("report")} {tid("finding")}[data-kind="unanswered"]')
    expect(found).to_have_count(1)
    expect(found).to_contain_text("知识库有答案而坐席答不知道:「房屋维修基金怎么查询和使用？」")
    expect(found).to_contain_text("我不太清楚…我也不知道")
    expect(found.locator(tid("finding-better"))).to_contain_text("维修资金")
    kinds = page.locator(f'{tid("report")} {tid("finding")}').evaluate_all("ns => ns.map(n => n.dataset.kind)")
    assert kinds.index("banned") < kinds.index("unanswered")
