"""The analyzer facade: contract keys, roles, spans, escalation across a call, empathy, KB."""

from __future__ import annotations

import json

import pytest

from assist.nlp.analyzer import Analyzer, CallContext

CONTRACT = {"intent", "department", "emotion", "referrals", "banned", "knowledge", "empathy"}
INTENTS = {"建议", "一般诉求", "求助", "投诉举报", "咨询", "表扬", None}
EMOTIONS = {"愤怒", "焦虑", "失望", "绝望", "平静", "满意"}


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.load(use_kb=False)


def test_caller_output_follows_the_contract(analyzer: Analyzer) -> None:
    out = analyzer.analyze("caller", "我 们 小区 电梯 坏 了 三 天 了 没 人 管 我 要 投诉 你们").to_dict()
    assert set(out) >= CONTRACT
    assert out["intent"] in INTENTS and out["intent"] == "投诉举报"
    assert out["department"] == "住建"
    assert out["emotion"]["label"] in EMOTIONS and 0.0 <= out["emotion"]["intensity"] <= 1.0
    assert out["emotion"]["label"] == "愤怒"
    assert out["banned"] == []
    assert len(out["empathy"]) == 3
    assert "住建部门" in out["empathy"][1]
    assert out["escalation"] is True and "complain_hotline" in out["escalation_reasons"]
    json.dumps(out, ensure_ascii=False)


def test_agent_output_has_only_banned(analyzer: Analyzer) -> None:
    out = analyzer.analyze("agent", "喂,你说完了没有").to_dict()
    assert set(out) >= CONTRACT
    assert (out["intent"], out["department"], out["emotion"]) == (None, None, None)
    assert out["referrals"] == out["knowledge"] == out["empathy"] == []
    assert {b["rule"] for b in out["banned"]} == {"wei", "finished_yet"}
    for b in out["banned"]:
        assert set(b) >= {"rule", "span", "suggestion", "start", "end"}


def test_caller_never_gets_banned_phrases(analyzer: Analyzer) -> None:
    assert analyzer.analyze("caller", "喂,我不知道该找谁,你说完了没有").banned == ()
    assert analyzer.analyze("mixed", "喂,我不知道该找谁").banned == ()


def test_unknown_role_is_rejected(analyzer: Analyzer) -> None:
    with pytest.raises(ValueError, match="role"):
        analyzer.analyze("supervisor", "你好")


def test_spans_point_into_the_normalised_text_and_back_to_the_input(analyzer: Analyzer) -> None:
    text = "我 家 停水 了 , 我 非常 着急 !"
    result = analyzer.analyze("caller", text)
    norm = result.normalized.text
    for spans in result.evidence.values():
        for span in spans:
            assert norm[span.start:span.end] == span.text
    emotion_span = result.evidence["emotion"][0]
    s, e = result.source_span(emotion_span)
    assert text[s:e].replace(" ", "") == emotion_span.text


def test_self_harm_is_critical_with_12356_and_supportive_scripts(analyzer: Analyzer) -> None:
    result = analyzer.analyze("caller", "我 真的 不想 活 了 活着 没 意思")
    assert result.critical and result.critical_reason
    assert result.referrals[0].number == "12356"
    assert result.emotion is not None and result.emotion.label == "绝望"
    assert len(result.empathy) == 3 and "12356" in result.empathy[2]


def test_calm_question_gets_no_empathy_script(analyzer: Analyzer) -> None:
    result = analyzer.analyze("caller", "请问护照在哪里办理")
    assert result.intent == "咨询" and result.empathy == ()


def test_empathy_scripts_avoid_vague_words(analyzer: Analyzer) -> None:
    result = analyzer.analyze("caller", "我非常生气,路灯坏了一个月了没人修")
    assert len(result.empathy) == 3
    for line in result.empathy:
        assert not any(w in line for w in ("应该", "可能", "大概"))
    assert "3至5个工作日" in result.empathy[2]


def test_escalation_across_utterances(analyzer: Analyzer) -> None:
    ctx = CallContext()
    first = analyzer.analyze("caller", "我打了好几次电话了", ctx, utterance_id="u1")
    assert first.escalation and "repeated_escalation" not in first.escalation_reasons
    second = analyzer.analyze("caller", "你们就是踢皮球", ctx, utterance_id="u2")
    assert "repeated_escalation" in second.escalation_reasons
    assert "sustained_anger" in second.escalation_reasons


def test_reanalysing_a_partial_does_not_count_twice(analyzer: Analyzer) -> None:
    ctx = CallContext()
    analyzer.analyze("caller", "我打了好几次", ctx, utterance_id="u1")
    again = analyzer.analyze("caller", "我打了好几次电话了", ctx, utterance_id="u1")
    assert "repeated_escalation" not in again.escalation_reasons
    assert len(ctx) == 1


def test_contexts_are_independent(analyzer: Analyzer) -> None:
    a, b = CallContext(), CallContext()
    analyzer.analyze("caller", "我打了好几次电话了", a)
    assert "repeated_escalation" not in analyzer.analyze("caller", "你们踢皮球", b).escalation_reasons


def test_empty_text(analyzer: Analyzer) -> None:
    out = analyzer.analyze("caller", "").to_dict()
    assert out["intent"] is None and out["emotion"] == {"label": "平静", "intensity": 0.0}


def test_knowledge_base_is_integrated() -> None:
    analyzer = Analyzer.load()
    out = analyzer.analyze("caller", "请问医保报销需要什么材料").to_dict()
    assert out["knowledge"], "the shipped knowledge base should answer a reimbursement question"
    hit = out["knowledge"][0]
    assert set(hit) >= {"id", "question", "answer", "score"} and 0 < hit["score"] <= 1
    assert analyzer.analyze("agent", "请问医保报销需要什么材料").knowledge == ()
