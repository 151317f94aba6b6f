"""The training report on the fourth new-user trial's calls (scripts in tests/data/trial4_training, written for the
trial, CC0), replayed through a real server on port 0 with the shipped analysis engine:

* f6: the trainee said 这个我不太清楚我也不知道 — the lapse's two suggestions are said once (the card, the
  alert and the report repeated 这个问题我帮您查询确认后给您回复); 情绪承接 came 45 s after the caller's
  anger, after two banned phrases, and the report says so; one line that did two steps is quoted once;
  an alert is dated like its card.
* f6b: the caller's question matched 房屋维修基金怎么查询和使用 and the operator said 不知道: the finding
  知识库有答案而坐席答不知道 names the entry (#6).
* f1: 稳住来电人 is the operator's 您先别挂我一直在这里陪您, not the safety question 身边有人陪着您吗; 我听您说
  要把事情都交代清楚 takes up no feeling; the crisis alert and its referral cards have one time (#13).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assist.cli import main
from assist.live.card_build import distinct_wordings
from assist.protocol.decode import decode_events
from assist.training.replay import watch_url
from assist.training.report import build_report
from assist.training.report_shape import TrainingReport
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules, UnansweredRule
from assist.training.stored_report import report_for_call
from assist.training.unanswered import Answer, Lapse, Line, banned_kinds, unanswered
from assist.web.server import AssistServer
from tests.support.training import replay_file, store_of, stored_call

TRIAL4 = Path(__file__).resolve().parents[1] / "data" / "trial4_training"
DISCLAIMED = "这个问题我帮您查询确认后给您回复"
FUND = "房屋维修基金怎么查询和使用？"


async def replay(server: AssistServer, name: str, call_id: str) -> list[dict[str, Any]]:
    return await replay_file(server, TRIAL4 / f"{name}.jsonl", call_id, agent_id="trainee46")


async def both_reports(server: AssistServer, name: str, call_id: str,
                       rules: TrainingRules) -> tuple[list[dict[str, Any]], TrainingReport, dict[str, Any]]:
    """The events, the report of the replay, and the stored call's report (the history page's)."""
    events = await replay(server, name, call_id)
    report = build_report(decode_events(events), rules)
    await stored_call(store_of(server), call_id)
    return events, report, await report_for_call(store_of(server), call_id)


# ---------------------------------------------------------------- f6: the trainee's call


async def test_f6_a_lapse_suggests_each_wording_once_in_the_card_the_alert_and_the_report(
        server: AssistServer, rules: TrainingRules) -> None:
    events, report, stored = await both_reports(server, "f6-training-property", "t4-f6", rules)
    cards = [e["data"]["suggestion"] for e in events if e.get("type") == "prompt" and e["kind"] == "banned"
             and "不知道" in e["data"]["said"]]
    alerts = [e["message"] for e in events if e.get("type") == "alert" and "不知道" in e["message"]]
    lapse = next(b for b in report.banned if "不知道" in b.words)
    assert cards and alerts
    for text in (*cards, *alerts, lapse.suggestion, *report.suggestions, *(a.message for a in report.alerts)):
        assert text.count(DISCLAIMED) <= 1, text
    assert all(s.count(DISCLAIMED) <= 1 for s in stored["suggestions"])


async def test_f6_late_empathy_is_reported_with_the_banned_lines_before_it(
        server: AssistServer, rules: TrainingRules) -> None:
    _, report, stored = await both_reports(server, "f6-training-property", "t4-f6", rules)
    first, second, _third = report.empathy.steps
    assert report.empathy.emotion is not None and report.empathy.emotion.time == pytest.approx(3.3, abs=0.1)
    assert first.done and first.time == pytest.approx(48.0, abs=0.1)
    assert first.late is not None and (first.late.turns, first.late.banned) == (2, 2)
    assert first.late.after == pytest.approx(44.7, abs=0.2)
    late = "之前坐席说了 2 句,其中 2 句是禁用语"
    assert any(s.startswith("「情绪承接」晚了") and late in s for s in report.suggestions)
    assert stored["empathy"]["steps"][0]["late"] == {"after": first.late.after, "turns": 2, "banned": 2}
    # one operator line did 情绪承接 and 责任表态: quoted once
    assert second.done and second.time == first.time
    text = render_text(report)
    assert text.count(first.said or "?") == 1 and "✓ 责任表态 [00:48] (同上一句)" in text


async def test_f6_alerts_are_dated_like_their_cards(server: AssistServer, rules: TrainingRules) -> None:
    _, report, _ = await both_reports(server, "f6-training-property", "t4-f6", rules)
    assert len(report.banned) == 3
    assert [a.time for a in report.alerts] == [b.time for b in report.banned]  # 00:01/00:20/00:36 before


async def test_a_prompt_answer_needs_no_late_note(rules: TrainingRules, server: AssistServer) -> None:
    """情绪承接 in the operator's first reply is not late (the f6 caller, answered at once)."""
    _, report, _ = await both_reports(server, "f6-answered", "t4-f6-ok", rules)
    first = report.empathy.steps[0]
    assert first.done and first.late is None
    assert not any("晚了" in s for s in report.suggestions)


# ---------------------------------------------------------------- f6b: 知识库有答案而坐席答不知道


async def test_f6b_the_report_says_the_knowledge_base_had_the_answer(
        server: AssistServer, rules: TrainingRules) -> None:
    _, report, stored = await both_reports(server, "f6b-fund-unknown", "t4-f6b", rules)
    (found,) = report.unanswered
    assert found.question == FUND and found.score >= 0.75 and "不知道" in found.said
    assert found.asked_time == pytest.approx(3.5, abs=0.1) and found.time == pytest.approx(10.0, abs=1.0)
    assert any("知识库有答案而坐席答不知道" in s and f"「{FUND}」" in s for s in report.suggestions)
    assert "知识库有答案而坐席答不知道" in render_text(report)
    assert [u["question"] for u in stored["unanswered"]] == [FUND]


async def test_f6_the_trainee_who_said_he_did_not_know_the_fund_is_told_the_knowledge_base_had_it(
        server: AssistServer, rules: TrainingRules) -> None:
    """In f6 the caller's new question (维修基金到底怎么用) now replaces the 物业纠纷 card
    (tests/live/test_trial4_cards.py), so the trainee's 我也不知道维修基金怎么弄 is the finding, naming the
    fund's entry (trial 4, #6)."""
    _, report, _ = await both_reports(server, "f6-training-property", "t4-f6-kb", rules)
    assert [u.question for u in report.unanswered] == [FUND]


def test_which_lapses_disclaim_knowing_and_which_answers_count() -> None:
    kinds = banned_kinds()
    rule = UnansweredRule(frozenset({"dont_know"}), frozenset({"推脱不知"}), 0.75)
    lines = [Line("a1", False, 0.0, "您好"), Line("c1", True, 2.0, "公积金怎么提取"), Line("c2", True, 5.0, "急用"),
             Line("a2", False, 8.0, "这个我也说不好"), Line("c3", True, 12.0, "那电梯呢"),
             Line("a3", False, 15.0, "不知道")]
    answers = [Answer("c1", "gjj", "住房公积金怎么提取？", "...", 0.9), Answer("c2", "x", "另一条", "...", 0.6)]
    learned = Lapse("a2", 8.5, "这个我也说不好", "learned", "这个问题我帮您查询确认后给您回复。")
    (found,) = unanswered([learned], lines, answers, rule, kinds)  # a learned 推脱不知, known by its wording
    assert (found.id, found.asked_time, found.time) == ("gjj", 2.0, 8.5)
    assert unanswered([learned], lines, [answers[1]], rule, kinds) == ()  # 0.6: not a confident answer
    wei = Lapse("a2", 8.0, "喂", "wei", "您好!市长热线,请问有什么可以帮到您?")
    assert unanswered([wei], lines, answers, rule, kinds) == ()  # not a disclaimer
    # the answer was to a question before the operator's previous line: another matter
    assert unanswered([Lapse("a3", 15.0, "不知道", "disclaim_knowledge", "…")], lines, answers, rule, kinds) == ()


# ---------------------------------------------------------------- f1: crisis items and one time per event


async def test_f1_crisis_items_are_credited_to_the_lines_that_do_them(
        server: AssistServer, rules: TrainingRules) -> None:
    _, report, stored = await both_reports(server, "f1-calm-risk", "t4-f1", rules)
    assert report.crisis is not None and report.crisis.confirmed
    items = {i.item: i for i in (*report.crisis.items, *report.crisis.credits)}
    assert items["稳住来电人"].done and items["稳住来电人"].time == pytest.approx(62.3, abs=0.5)
    assert "先别挂" in (items["稳住来电人"].said or "")
    assert not items["情绪承接"].done  # 我听您说要把事情都交代清楚 repeats the caller's words
    assert items["确认安全"].done  # the safety question is credited as what it is
    # the crisis alert and the referral cards raised by the caller's 0:25 line have one time
    (crisis_alert,) = report.critical
    assert {r.time for r in report.referrals} == {crisis_alert.time} and crisis_alert.time == pytest.approx(25.0, 0.5)
    assert f"[{'00:25'}] 危机信号" in render_text(report)
    assert stored["critical"][0]["time"] == crisis_alert.time


def test_distinct_wordings_drops_a_wording_another_contains() -> None:
    long = "这个问题我帮您查询确认后给您回复,请您留一个联系方式。"
    assert distinct_wordings([long, "这个问题我帮您查询确认后给您回复。"]) == [long]
    assert distinct_wordings(["这个问题我帮您查询确认后给您回复。", long]) == [long]
    assert distinct_wordings(["您好,请讲。", "您好,请讲。", "我马上转办。"]) == ["您好,请讲。", "我马上转办。"]


# ---------------------------------------------------------------- #9: where to watch a replay


def test_the_watch_url_is_the_overlay_of_the_call() -> None:
    assert watch_url("ws://127.0.0.1:8798/ws/call", "t4-f6") == "http://127.0.0.1:8798/?call=t4-f6"
    assert watch_url("wss://hotline.example/assist/ws/call", "a b") == "https://hotline.example/assist/?call=a+b"


def test_the_replay_command_prints_where_to_watch_it(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", str(TRIAL4 / "f6b-fund-unknown.jsonl"), "--local", "--speed", "max",
                 "--call-id", "t4-watch"])
    out = capsys.readouterr().out
    assert code == 0
    watch = next(line for line in out.splitlines() if "watch it at" in line)
    assert "http://127.0.0.1:" in watch and watch.split()[4].endswith("/?call=t4-watch") and "/?agent=" in watch
