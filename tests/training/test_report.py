"""Training report content: built from the events the live-assist pipeline gives for sample calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assist.live.prompts import LiveAssist
from assist.live.transcript_source import split_chars, timed_words
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.decode import decode_events
from assist.protocol.events import Alert, CallStarted, Event, Prompt, Transcript, TranscriptLine
from assist.store.db import Store
from assist.store.privacy import Redactor
from assist.training.replay import parse_transcript
from assist.training.report import build_report
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules
from assist.training.stored_report import report_for_call, stored_events
from tests.support.samples import LEGAL, NOISE


def transcripts(lines: list[TranscriptLine], call_id: str = "c1") -> list[Transcript]:
    """Final transcripts as a recogniser gives them: numbered per role, timed words."""
    counters: dict[str, int] = {}
    out = []
    for line in lines:
        n = counters.get(line.role, 0)
        counters[line.role] = n + 1
        words = timed_words(line, split_chars)
        out.append(Transcript(call_id, line.role, f"{line.role}-{n}", True, " ".join(w.word for w in words),
                              line.start, line.end, words))
    return out


def call_events(analyzer: Analyzer, lines: list[TranscriptLine]) -> list[Event]:
    """Transcripts plus everything live assist answers, through their wire JSON and back."""
    live = LiveAssist("c1", "A01", analyzer, mode="training", context_factory=CallContext, clock=lambda: 100.0)
    wire: list[dict[str, Any]] = []
    for t in transcripts(lines):
        wire.append(json.loads(t.to_json()))
        wire.extend(json.loads(e.to_json()) for e in live.on_transcript(t))
    return decode_events(wire)


def sample(path: Path) -> list[TranscriptLine]:
    return parse_transcript(path.read_text(encoding="utf-8"), path.name)


def line(role: str, start: float, end: float, text: str) -> TranscriptLine:
    return TranscriptLine(role=role, start=start, end=end, text=text)


def test_legal_dispute_call(analyzer: Analyzer, rules: TrainingRules) -> None:
    report = build_report(call_events(analyzer, sample(LEGAL)), rules)
    assert report.call_id == "c1" and report.agent_id == "A01" and report.mode == "training"
    assert report.utterances == {"agent": 4, "caller": 3} and report.duration == 30.0
    # banned phrase with its time (the word where it starts), words and compliant wording
    (banned,) = report.banned
    assert banned.rule == "go_ask_yourself" and "社保局" in banned.words
    assert 9.0 <= banned.time < 11.0 and banned.suggestion
    # standard greetings at the start and the end
    assert report.opening.used and report.opening.time == 0.0 and "市长热线" in (report.opening.said or "")
    assert report.closing.used and report.closing.time == 27.5
    # the caller got angry about the debt (11.5 s); the operator acknowledged the feeling only
    assert report.empathy.emotion is not None and report.empathy.emotion.time == 11.5
    steps = {s.step: s for s in report.empathy.steps}
    # a consultation owes no completion time (training.toml 行动承诺 not_for 咨询: new-user trial 8)
    consultation = report.category is not None and report.category.intent == "咨询"
    assert list(steps) == ["情绪承接", "责任表态"] + ([] if consultation else ["行动承诺"])
    assert steps["情绪承接"].done and steps["情绪承接"].time == 18.5
    assert "理解您的心情" in (steps["情绪承接"].said or "")
    assert not steps["责任表态"].done
    assert consultation or (not steps["行动承诺"].done and steps["行动承诺"].expected)
    # what the assistant offered: 12348 (and the operator said it), the provident-fund answer
    assert [(r.number, r.given) for r in report.referrals] == [("12348", True)]
    assert [k.id for k in report.knowledge] == ["gjj-withdraw"]
    assert report.category is not None and report.category.intent in ("咨询", "求助")
    assert report.emotion is not None and report.emotion.label == "愤怒"
    assert [a.kind for a in report.alerts] == ["banned"] and report.critical == ()
    assert any("责任表态" in s for s in report.suggestions) and any("社保局" in s for s in report.suggestions)


def test_noise_complaint_call(analyzer: Analyzer, rules: TrainingRules) -> None:
    report = build_report(call_events(analyzer, sample(NOISE)), rules)
    said = [(b.time, b.words) for b in report.banned]
    # one utterance is one lapse with all its spans (trial 3): 喂 and 你说完了没有 on one card, both rules
    assert said[0] == (10.0, "喂…你说完了没有")
    assert {r for b in report.banned for r in b.rule.split("+")} >= {"wei", "finished_yet", "vague_promise"}
    assert all(b.suggestion for b in report.banned)
    assert report.opening.used and report.closing.used and report.closing.time == 30.5
    steps = {s.step: s for s in report.empathy.steps}
    assert report.empathy.emotion is not None and report.empathy.emotion.time == 3.0  # 你们到底管不管
    assert not steps["情绪承接"].done
    assert steps["责任表态"].done and steps["责任表态"].time == 16.5
    # "大概下周吧 应该会有人联系您": a promise without a time, hedged
    assert not steps["行动承诺"].done
    assert any("大概" in n or "应该" in n for n in steps["行动承诺"].notes)
    assert report.category is not None and report.category.intent == "投诉举报"
    assert report.emotion is not None and report.emotion.intensity >= 0.8
    assert {a.kind for a in report.alerts} >= {"banned", "escalation"}
    assert report.referrals == ()


def test_missing_greetings_are_named(analyzer: Analyzer, rules: TrainingRules) -> None:
    lines = [
        line("agent", 0.0, 1.5, "喂 你好"),
        line("caller", 2.0, 5.0, "我 想 问 一下 公积金 怎么 提取"),
        line("agent", 5.5, 8.0, "您 可以 带 身份证 去 柜台 办理"),
        line("agent", 8.5, 9.5, "好 的 拜拜"),
    ]
    report = build_report(call_events(analyzer, lines), rules)
    assert not report.opening.used and report.opening.missing == ("报热线名", "询问诉求")
    assert report.opening.time == 0.0  # 你好 was said
    assert not report.closing.used and report.closing.missing == ("致谢", "道别")
    assert report.closing.said is None
    assert any(s.startswith("开头语不完整") for s in report.suggestions)
    assert any(s.startswith("结束语不完整") for s in report.suggestions)


def test_all_three_empathy_steps_with_a_specific_time(analyzer: Analyzer, rules: TrainingRules) -> None:
    lines = [
        line("agent", 0.0, 2.0, "您好 一 二 三 四 五 请讲"),
        line("caller", 2.5, 7.0, "我 家 停水 三 天 了 到底 有没有 人 管 气死 我 了"),
        line("agent", 7.5, 10.0, "我 非常 理解 您 现在 的 着急"),
        line("agent", 10.5, 14.0, "非常 抱歉 给 您 添 麻烦 了 此 事 由 水务 部门 主办"),
        line("agent", 14.5, 19.0, "我 将 在 第 二 个 工作日 中午 前 向 您 反馈 进展"),
        line("agent", 19.5, 21.0, "感谢 您 的 来电 再见"),
    ]
    report = build_report(call_events(analyzer, lines), rules)
    assert report.opening.used  # 一二三四五 is read as 12345
    assert report.empathy.emotion is not None and report.empathy.emotion.time == 2.5
    assert [(s.step, s.done, s.time) for s in report.empathy.steps] == [
        ("情绪承接", True, 7.5), ("责任表态", True, 10.5), ("行动承诺", True, 14.5)]
    assert not any("共情" in s or "缺少" in s for s in report.suggestions)


def test_empathy_before_the_emotion_does_not_count(analyzer: Analyzer, rules: TrainingRules) -> None:
    lines = [
        line("agent", 0.0, 3.0, "非常 抱歉 让 您 久 等 了 我 理解 您 的 心情"),
        line("caller", 3.5, 8.0, "你们 这 什么 破 服务 气死 我 了 我 要 投诉"),
        line("agent", 8.5, 10.0, "您 说"),
    ]
    report = build_report(call_events(analyzer, lines), rules)
    assert report.empathy.emotion is not None
    assert not any(s.done for s in report.empathy.steps)


def test_calm_call_needs_no_empathy(analyzer: Analyzer, rules: TrainingRules) -> None:
    lines = [line("caller", 0.0, 3.0, "请问 公积金 怎么 提取")]
    report = build_report(call_events(analyzer, lines), rules)
    assert report.empathy.emotion is None and report.empathy.steps == () and report.empathy.notes
    assert report.emotion is None
    assert "共情三步:来电人情绪平稳" in render_text(report)


def test_withdrawn_prompts_do_not_count(rules: TrainingRules) -> None:
    """A card shown on a partial and withdrawn when the recogniser revised the words is not in the report."""
    base = {"type": "prompt", "call_id": "c9", "role": "agent", "utterance_id": "agent-0", "audio_time": 1.0,
            "span": {"text": "喂", "start": 0, "end": 1}}
    card = {**base, "prompt_id": "c9:agent-0:banned:wei-0", "kind": "banned",
            "data": {"rule": "wei", "said": "喂", "suggestion": "您好"}}
    events = [
        {"type": "transcript", "call_id": "c9", "role": "agent", "utterance_id": "agent-0", "final": False,
         "text": "喂", "start": 0.0, "end": 1.0},
        {**card, "action": "show"},
        {**card, "action": "withdraw"},
        {"type": "transcript", "call_id": "c9", "role": "agent", "utterance_id": "agent-0", "final": True,
         "text": "为 您 服务", "start": 0.0, "end": 1.5, "words": []},
    ]
    assert build_report(decode_events(events), rules).banned == ()
    assert [b.words for b in build_report(decode_events(events[:2] + events[3:]), rules).banned] == ["喂"]


def test_mixed_channel_counts_as_the_operator(analyzer: Analyzer, rules: TrainingRules) -> None:
    lines = [line("mixed", 0.0, 3.0, "您好 市长 热线 请问 有 什么 可以 帮 您"),
             line("mixed", 3.5, 6.0, "我 不 知道 你 自己 去 问 吧"),
             line("mixed", 6.5, 8.0, "感谢 您 的 来电 再见")]
    report = build_report(call_events(analyzer, lines), rules)
    assert report.opening.used and report.closing.used
    assert report.banned and report.banned[0].time >= 3.5


def test_report_is_deterministic_and_json_ready(analyzer: Analyzer, rules: TrainingRules) -> None:
    events = call_events(analyzer, sample(NOISE))
    first, second = build_report(events, rules), build_report(list(events), rules)
    assert first == second
    data = first.to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == {"call_id", "agent_id", "mode", "duration", "utterances", "category", "emotion", "greetings",
                         "banned", "empathy", "referrals", "knowledge", "critical", "alerts", "suggestions", "crisis",
                         "safety", "unanswered"}
    assert set(data["banned"][0]) == {"time", "words", "rule", "suggestion"}
    assert not any("created_at" in json.dumps(v) for v in data.values())
    text = render_text(first)
    assert f"禁用语({len(first.banned)} 次)" in text and len(first.banned) < 4  # one lapse per utterance
    for heading in ("培训报告", "开头语", "结束语", "共情三步", "改进建议", "「喂…你说完了没有」"):
        assert heading in text


def test_critical_alerts_are_listed(analyzer: Analyzer, rules: TrainingRules) -> None:
    lines = [line("caller", 0.0, 4.0, "我 不 想 活 了 活着 没 意思"),
             line("agent", 4.5, 8.0, "您 先 别 着急 我 理解 您 的 感受")]
    report = build_report(call_events(analyzer, lines), rules)
    # dated by the start of the words that raised it, like its cards (trial 4: 转介 00:25 beside 危急信号 00:33)
    assert report.critical and report.critical[0].time == 0.0
    assert report.to_dict()["critical"][0]["message"]
    # a crisis call: 理解您的感受 is the crisis's 情绪承接, and no routine step is asked
    assert report.crisis is not None and report.crisis.items[0].done and report.empathy.steps == ()


async def test_report_for_a_stored_call_matches_the_stream(analyzer: Analyzer, rules: TrainingRules,
                                                           tmp_path: Path) -> None:
    events = call_events(analyzer, sample(NOISE))
    store = await Store.open(tmp_path / "calls.sqlite3", redactor=Redactor())
    try:
        await store.start_call("c1", "A01", 100.0, mode="training")
        for e in events:
            if isinstance(e, Transcript):
                await store.add_utterance("c1", e.role, e.utterance_id, e.text, e.start, e.end, e.words)
            elif isinstance(e, Prompt):
                await store.add_prompt(e)
            elif isinstance(e, Alert):
                await store.add_alert(e)
        stored = await report_for_call(store, "c1")
        assert stored == build_report(events, rules).to_dict()
        started = stored_events(await store.get_call("c1"))[0]
        assert isinstance(started, CallStarted) and started.mode == "training"
        try:
            await report_for_call(store, "nope")
        except LookupError as exc:
            assert "nope" in str(exc)
        else:
            raise AssertionError("an unknown call must raise NotFound")
    finally:
        await store.close()
