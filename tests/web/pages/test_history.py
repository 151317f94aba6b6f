"""The call history page against the fake server's /api/calls, in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import ViewportSize, expect

from assist.protocol.decode import decode_events
from assist.training.report import build_report
from tests.support.fake_page_server import FakeServer
from tests.support.pages import DESKTOP_VIEWPORT, NewPage, Screenshot, tid
from tests.support.scenario import PAST

pytestmark = pytest.mark.browser


def test_search_and_open_a_call_with_its_report(
    new_page: NewPage, fake_server: FakeServer, screenshot: Screenshot
) -> None:
    page = new_page(viewport=ViewportSize(width=1280, height=900))
    page.goto(f"{fake_server.base_url}/history")
    rows = page.locator(tid("result-row"))
    expect(rows).to_have_count(3)

    page.locator(tid("search-text")).fill("油烟")
    page.locator(tid("search-text")).press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-call-id", PAST)
    assert any("search=%E6%B2%B9%E7%83%9F" in p for p in fake_server.http_paths)

    rows.first.click()
    detail = page.locator(tid("call-detail"))
    expect(detail.locator(tid("transcript-line"))).to_have_count(6)
    expect(detail.locator(f'{tid("transcript-line")}[data-role="caller"]').first).to_contain_text("油烟")
    expect(detail.locator(tid("detail-alerts"))).to_contain_text("已确认 · 李组长")
    # findings by importance: banned phrases, then the missing empathy step, then the closing
    findings = detail.locator(tid("finding"))
    kinds = findings.evaluate_all("ns => ns.map(n => n.dataset.kind)")
    assert kinds == ["banned", "banned", "empathy", "greeting"]
    banned = findings.nth(1)
    expect(banned).to_contain_text("说完了没有")
    expect(banned.locator(tid("finding-better"))).to_contain_text("请问您还有其他需要补充的吗?")
    expect(findings.nth(2)).to_contain_text("未做到「情绪承接」")
    expect(findings.nth(3).locator(tid("finding-better"))).to_contain_text("感谢您的来电")
    expect(detail.locator(tid("report-summary"))).to_contain_text("愤怒 68%")
    expect(detail.locator(f'{tid("report-section")}[data-key="strengths"]')).to_contain_text("责任表态")
    report_text = detail.locator(tid("report")).inner_text()
    for english in ("kind", "severity", "not_our_business", "finished_yet", "agent", "caller", "null", "undefined"):
        assert english not in report_text
    # each finding links to its moment in the transcript
    banned.locator(tid("report-moment")).click()
    shown = detail.locator('[data-moment-shown="true"]')
    expect(shown).to_contain_text("说完了没有")
    expect(page).to_have_url(f"{fake_server.base_url}/history?search=%E6%B2%B9%E7%83%9F&call={PAST}")
    screenshot(page, "history")


def test_agent_filter_and_a_call_without_report(new_page: NewPage, fake_server: FakeServer) -> None:
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{fake_server.base_url}/history?agent=T09")
    rows = page.locator(tid("result-row"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("培训")
    rows.first.click()
    detail = page.locator(tid("call-detail"))
    expect(detail.locator(tid("report"))).to_have_text("这通电话没有培训报告。")
    expect(detail.locator(tid("transcript-line"))).to_contain_text("居住证")


def test_a_safety_question_not_asked_is_a_finding_and_one_asked_is_credited(
    new_page: NewPage, fake_server: FakeServer
) -> None:
    report = dict(fake_server.scenario.reports[PAST])  # TrainingReport.to_dict()'s "safety" (assist/training/safety.py)
    report["safety"] = [
        {"time": 4.0, "caller": "我家楼下的餐馆油烟太大,窗户都没法开。",
         "question": "冒昧问一句:您现在安全吗?身边有人吗?", "reason": "可能有生命安全风险(模型判断)",
         "outcome": "missed", "asked_time": None, "said": None},
        {"time": 12.0, "caller": "你这是什么态度?", "question": "冒昧问一句:您现在安全吗?身边有人吗?", "reason": None,
         "outcome": "asked", "asked_time": 16.0, "said": "您现在身边有人陪着吗?"},
        {"time": 13.0, "caller": "你这是什么态度?", "question": "您现在安全吗?", "reason": None,
         "outcome": "crisis", "asked_time": None, "said": None},
    ]
    fake_server.scenario.reports[PAST] = report
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{fake_server.base_url}/history?call={PAST}")
    detail = page.locator(tid("call-detail"))
    findings = detail.locator(tid("finding"))
    expect(findings).to_have_count(5)  # rendered once the report has loaded (a busy machine: not at once)
    # the missed question comes right after crisis handling, before the banned phrases
    assert findings.evaluate_all("ns => ns.map(n => n.dataset.kind)") == [
        "safety", "banned", "banned", "empathy", "greeting"]
    missed = findings.first
    expect(missed).to_contain_text("安全确认")
    expect(missed).to_contain_text("未询问来电人的安全")
    expect(missed).to_contain_text("油烟太大")  # the caller's words that raised the card
    expect(missed.locator(tid("finding-better"))).to_have_text("建议说法:冒昧问一句:您现在安全吗?身边有人吗?")
    expect(missed.locator(tid("report-moment"))).to_have_text("0:04")
    strengths = detail.locator(f'{tid("report-section")}[data-key="strengths"]')
    expect(strengths).to_contain_text("安全确认:您现在身边有人陪着吗?")
    report_text = detail.locator(tid("report")).inner_text()
    for english in ("missed", "asked", "crisis", "null", "undefined"):
        assert english not in report_text


def test_a_missed_referral_suggests_words_for_the_caller_and_a_repeated_alert_is_one_finding(
    new_page: NewPage, fake_server: FakeServer
) -> None:
    report = dict(fake_server.scenario.reports[PAST])  # TrainingReport.to_dict() (assist/training/report_shape.py)
    report["referrals"] = [
        {"time": 7.0, "number": "12333", "name": "人力资源和社会保障咨询热线",
         "reason": "社保、就业、劳动关系与欠薪:12345受理并转人社(劳动保障监察),政策可咨询12333",
         "script": "社保、就业和劳动权益方面的政策,您也可以拨打12333人社服务热线详细咨询。", "given": False},
    ]
    report["critical"] = [
        {"time": 10.6, "message": "危机信号:可能有自伤自杀风险(模型判断)", "repeats": 3},
        {"time": 67.6, "message": "危机信号:来电人流露轻生/自伤念头,请立即关注并转介心理援助", "repeats": 0},
    ]
    fake_server.scenario.reports[PAST] = report
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{fake_server.base_url}/history?call={PAST}")
    detail = page.locator(tid("call-detail"))
    referral = detail.locator(f'{tid("finding")}[data-kind="referral"]')
    # the referral card's own words for the caller, not the reason the assistant offered it
    expect(referral.locator(tid("finding-better"))).to_have_text(
        "建议说法:社保、就业和劳动权益方面的政策,您也可以拨打12333人社服务热线详细咨询。")
    critical = detail.locator(f'{tid("finding")}[data-kind="critical"]')
    expect(critical).to_have_count(2)  # the model's alert on four finals is one, the new reason another
    expect(critical.first).to_contain_text("可能有自伤自杀风险(模型判断)(又 3 次)")
    expect(critical.nth(1)).not_to_contain_text("又")


def test_a_crisis_call_is_not_judged_on_its_closing(new_page: NewPage, fake_server: FakeServer) -> None:
    report = dict(fake_server.scenario.reports[PAST])
    closing = {"used": True, "time": 20.0, "said": "感谢您的来电,再见!", "missing": [],
               "expected": "感谢您的来电,再见!", "judged": False}
    report["greetings"] = {**report["greetings"], "closing": closing}
    report["empathy"] = {"emotion": {"label": "绝望", "intensity": 0.9, "time": 4.0}, "steps": [],
                         "notes": ["危急来电按危急处置评价:情绪承接见危急处置,不检查责任表态和行动承诺(办结时限)"]}
    report["crisis"] = {"time": 4.0, "numbers": ["110", "12356"], "items": [
        {"item": "情绪承接", "done": False, "time": None, "said": None,
         "expected": "我能感受到您现在很难受,我一直在听,您慢慢说。"},
        {"item": "稳住来电人", "done": True, "time": 16.0, "said": "请您先不要挂电话",
         "expected": "请您先不要挂电话。"},
    ]}
    fake_server.scenario.reports[PAST] = report
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{fake_server.base_url}/history?call={PAST}")
    detail = page.locator(tid("call-detail"))
    findings = detail.locator(tid("finding"))
    expect(findings.first).to_contain_text("危急来电缺少「情绪承接」")
    expect(findings.first.locator(tid("finding-better"))).to_have_text("建议说法:我能感受到您现在很难受,我一直在听,您慢慢说。")
    strengths = detail.locator(f'{tid("report-section")}[data-key="strengths"]')
    expect(strengths).to_contain_text("稳住来电人")
    text = detail.locator(tid("report")).inner_text()
    assert "结束语" not in text and "行动承诺" not in text and "同样焦虑" not in text  # as the terminal report


def test_an_unconfirmed_model_guess_and_excused_numbers_are_not_findings(
    new_page: NewPage, fake_server: FakeServer
) -> None:
    # the report of trial 2's 居住证 call (tests/data/trial2, CC0) as the server builds it from the events its
    # live run received, as they were before live assist asked the safety question first (no safety card):
    # one model guess of 自伤自杀, its 110/12356 cards, the 居住证 answer withdrawn
    events = Path(__file__).resolve().parents[2] / "data" / "trial2" / "events" / "d5-juzhuzheng.jsonl"
    rows = [json.loads(raw) for raw in events.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row.get("kind") != "safety"]
    report = build_report(decode_events(rows))
    fake_server.scenario.reports[PAST] = report.to_dict()
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{fake_server.base_url}/history?call={PAST}")
    detail = page.locator(tid("call-detail"))
    expect(detail.locator(tid("report"))).to_be_visible()
    expect(detail.locator(f'{tid("finding")}[data-kind="critical"]')).to_have_count(0)
    expect(detail.locator(f'{tid("finding")}[data-kind="referral"]')).to_have_count(0)
    # a guess of 自伤自杀 is still asked about: the operator did not ask about the caller's safety
    safety = detail.locator(f'{tid("finding")}[data-kind="safety"]')
    expect(safety).to_have_count(1)
    expect(safety).to_contain_text("危急提示「可能有自伤自杀风险(模型判断)」(未证实)后,未询问来电人的安全")
    notes = detail.locator(f'{tid("report-section")}[data-key="notes"]')
    expect(notes).to_contain_text("模型提示未确认")
    expect(notes).to_contain_text("12356 心理援助热线")
    knowledge = detail.locator(f'{tid("report-section")}[data-key="knowledge"]')
    expect(knowledge).to_contain_text("居住证怎么办理")
    expect(knowledge).to_contain_text("(后被撤下)")
    strengths = detail.locator(f'{tid("report-section")}[data-key="strengths"]')
    expect(strengths).to_contain_text("结束语规范")


def test_a_call_closed_on_a_caller_at_risk_is_the_first_finding(new_page: NewPage, fake_server: FakeServer) -> None:
    """Trial 6, M12: the report (crisis.ended, crisis.toml [ended]) says the operator closed the call before any
    transfer, above the crisis items; the history page shows it first, with the words and what to do."""
    report = dict(fake_server.scenario.reports[PAST])
    report["crisis"] = {"time": 4.0, "numbers": ["110", "12356"], "items": [
        {"item": "情绪承接", "done": False, "time": None, "said": None,
         "expected": "我能感受到您现在很难受,我一直在听,您慢慢说。"}],
        "ended": {"item": "未转接就结束通话", "done": False, "time": 75.4, "said": "好的感谢您的来电再见",
                  "expected": "来电人有危险时,请先为其三方转接110/12356,对方接通、交接完成后再结束通话。"}}
    fake_server.scenario.reports[PAST] = report
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{fake_server.base_url}/history?call={PAST}")
    first = page.locator(f'{tid("call-detail")} {tid("finding")}').first
    expect(first).to_contain_text("未转接就结束通话")
    expect(first).to_contain_text("好的感谢您的来电再见")
    expect(first.locator(tid("finding-better"))).to_contain_text("三方转接110/12356")


def test_a_caller_at_risk_handled_as_a_routine_matter_is_a_first_finding(new_page: NewPage,
                                                                        fake_server: FakeServer) -> None:
    """New-user trial 8: a ticket and working days after the crisis card (crisis.routine, crisis.toml [routine]) is
    a crisis finding above the crisis items, in the danger colour, with the words and what to do."""
    report = dict(fake_server.scenario.reports[PAST])
    report["crisis"] = {"time": 4.0, "numbers": ["119"], "items": [
        {"item": "情绪承接", "done": False, "time": None, "said": None, "expected": "您别慌,我知道您现在很害怕。"}],
        "routine": {"item": "危急情况按一般诉求处理", "done": False, "time": 6.1,
                    "said": "我给您登记一下三个工作日内回复您",
                    "expected": "来电人有危险时不要按一般诉求登记转办、约定工作日答复:先稳住来电人、问清位置,"
                                "立即三方转接119。"}}
    fake_server.scenario.reports[PAST] = report
    page = new_page(viewport=DESKTOP_VIEWPORT)
    page.goto(f"{fake_server.base_url}/history?call={PAST}")
    first = page.locator(f'{tid("call-detail")} {tid("finding")}').first
    expect(first).to_have_attribute("data-kind", "routine")
    expect(first).to_contain_text("危急情况按一般诉求处理")
    expect(first).to_contain_text("我给您登记一下三个工作日内回复您")
    expect(first.locator(tid("finding-better"))).to_contain_text("立即三方转接119")
    expect(first.locator(".finding-kind")).to_have_text("危急处置")
    colour = first.locator(".finding-kind").evaluate("e => getComputedStyle(e).backgroundColor")
    critical = page.locator(f'{tid("call-detail")} {tid("finding")}[data-kind="critical"] .finding-kind')
    assert critical.evaluate("e => getComputedStyle(e).backgroundColor") == colour
