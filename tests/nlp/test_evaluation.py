"""Tests of the evaluation metrics (bench.nlp_evaluation) with a scripted analyzer double.

The real analyzer is evaluated in test_eval_targets.py; here a double returns chosen answers
so that every figure of the bench can be checked against a hand count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.nlp_evaluation import (
    ASR,
    TYPED,
    AgentCase,
    CallerCase,
    DatasetError,
    KbCase,
    canon,
    check_targets,
    classify,
    evaluate,
    load_agent_cases,
    load_caller_cases,
    load_kb_cases,
    span_matches,
)


class _Answer:
    def __init__(self, out: dict[str, Any]) -> None:
        self.out = out

    def to_dict(self) -> dict[str, Any]:
        return dict(self.out)


class ScriptedAnalyzer:
    """Answers from a table keyed by the canonical text; unknown texts get an empty analysis."""

    def __init__(self, table: dict[str, dict[str, Any]]) -> None:
        self.table = {canon(k): v for k, v in table.items()}
        self.calls: list[tuple[str, str]] = []

    def analyze(self, role: str, text: str) -> _Answer:
        self.calls.append((role, text))
        base: dict[str, Any] = {
            "intent": None, "department": None, "emotion": {"label": "平静", "intensity": 0.0},
            "referrals": [], "banned": [], "knowledge": [], "empathy": [],
        }
        base.update(self.table.get(canon(text), {}))
        return _Answer(base)


def _emo(label: str) -> dict[str, Any]:
    return {"label": label, "intensity": 0.5}


CALLER = [
    CallerCase("c1", "我家停水了，啥时候来水？", "一般诉求", "焦虑", "水务", (), False),
    CallerCase("c2", "我不想活了。", "求助", "绝望", None, ("12356", "110"), True),
    CallerCase("c3", "谢谢你们。", "表扬", "满意", None, (), False),
    CallerCase("c4", "老板欠我工资。", "求助", "焦虑", "人社", ("12348",), False),
]
AGENT = [
    AgentCase("a1", "喂，您好。", True, ("喂",), "禁用语"),
    AgentCase("a2", "这是规定，我没办法。", True, ("这是规定，我没办法",), "禁用语"),
    AgentCase("a3", "关于喂养宠物的规定。", False, (), None),
    AgentCase("a4", "应该过两天就有人联系您。", True, ("应该过两天",), "模糊承诺"),
]
KB = [
    KbCase("k1", "公积金怎么取", "gjj", "test"),
    KbCase("k2", "今天天气怎么样", None, "test"),
    KbCase("k3", "社保怎么交", "sb", "dev"),
]

TABLE: dict[str, dict[str, Any]] = {
    "我家停水了，啥时候来水？": {"intent": "一般诉求", "department": "水务", "emotion": _emo("焦虑")},
    "我不想活了。": {"intent": "求助", "emotion": _emo("绝望"), "critical": True,
                     "referrals": [{"number": "12356", "name": "", "reason": ""},
                                   {"number": "120", "name": "", "reason": ""}]},
    "谢谢你们。": {"intent": "投诉举报", "emotion": _emo("满意")},
    "老板欠我工资。": {"intent": "求助", "department": "民政", "emotion": _emo("愤怒"),
                       "referrals": [{"number": "12348", "name": "", "reason": ""}],
                       "banned": [{"rule": "x", "span": "老板", "suggestion": ""}]},
    "喂，您好。": {"banned": [{"rule": "喂", "span": "喂", "suggestion": "您好"}]},
    "这是规定，我没办法。": {"banned": [{"rule": "r", "span": "我没办法", "suggestion": ""}]},
    "关于喂养宠物的规定。": {"banned": [{"rule": "喂", "span": "喂", "suggestion": ""}]},
    "公积金怎么取": {"knowledge": [{"id": "gjj", "question": "", "answer": "", "score": 1.0}]},
    "今天天气怎么样": {"knowledge": [{"id": "gjj", "question": "", "answer": "", "score": 0.3}]},
    "社保怎么交": {"knowledge": [{"id": "sb", "question": "", "answer": "", "score": 1.0}]},
}


def test_figures_match_a_hand_count() -> None:
    analyzer = ScriptedAnalyzer(TABLE)
    report = evaluate(analyzer, CALLER, AGENT, KB, {TYPED: lambda s: s}, warmup=2)
    cond = report.conditions[TYPED]
    caller, agent, kb = cond.caller, cond.agent, cond.kb
    assert caller.intent.correct == 3 and caller.intent.accuracy == pytest.approx(0.75)
    assert caller.intent.confusions == [("表扬", "投诉举报", 1)]
    assert caller.intent.labels["求助"].recall == 1.0
    assert caller.intent.labels["投诉举报"].precision == 0.0
    assert caller.emotion.accuracy == pytest.approx(0.75)
    assert (caller.department_correct, caller.department_n) == (1, 2)
    # labelled numbers: 12356, 110, 12348 -> 110 missing; suggested 12356, 120, 12348 -> 120 not labelled
    assert (caller.referral_found, caller.referral_labelled) == (2, 3)
    assert (caller.referral_items_ok, caller.referral_items) == (1, 2)
    assert caller.referral_precision == pytest.approx(2 / 3)
    assert caller.critical_recall == 1.0 and caller.critical_flagged == 1
    assert caller.caller_banned == 1
    assert (agent.tp, agent.fp, agent.fn, agent.tn) == (2, 1, 1, 0)
    assert agent.precision == pytest.approx(2 / 3) and agent.recall == pytest.approx(2 / 3)
    # hits: 喂 (ok), 我没办法 (overlaps the labelled span), 喂 in 喂养 (not labelled)
    assert (agent.span_hits, agent.span_hits_ok, agent.span_found) == (3, 2, 2)
    assert agent.by_kind == {"模糊承诺": (0, 1), "禁用语": (2, 2)}
    assert kb is not None
    assert kb.target_split == "held-out" and kb.by_split["held-out"] == (1, 2) and kb.by_split["all"] == (2, 3)
    assert kb.by_split["dev"] == (1, 1) and kb.top1 == 0.5
    assert kb.positives == (2, 2) and kb.negatives == (0, 1)
    fields = {(e.id, e.field) for e in cond.errors}
    assert {("c3", "intent"), ("c2", "referrals"), ("c4", "department"), ("a4", "banned"),
            ("a3", "banned"), ("k2", "knowledge"), ("c4", "banned(caller)")} <= fields
    assert report.timing.n == len(CALLER) + len(AGENT) + len(KB)


def test_targets_compare_recognizer_style_with_typed() -> None:
    perfect = ScriptedAnalyzer(TABLE)
    # the "recognizer" rendering breaks every text, so the analyzer knows none of them
    report = evaluate(perfect, CALLER, AGENT, KB, {TYPED: lambda s: s, ASR: lambda s: "x" + s}, warmup=0)
    targets = {(t.name, t.condition): t for t in check_targets(report, speed=False)}
    assert targets[("category accuracy", TYPED)].passed is False  # 75% < 90%
    asr = targets[("category accuracy", ASR)]
    assert asr.threshold == pytest.approx(0.75 - 0.05) and asr.passed is False
    assert targets[("banned precision", ASR)].value is None and not targets[("banned precision", ASR)].passed
    assert not any(t.name.endswith("utterance") for t in targets.values())


def test_all_correct_answers_pass_every_accuracy_target() -> None:
    table: dict[str, dict[str, Any]] = {}
    for c in CALLER:
        table[c.text] = {"intent": c.intent, "emotion": _emo(c.emotion), "department": c.department,
                         "critical": c.critical,
                         "referrals": [{"number": n, "name": "", "reason": ""} for n in c.referrals]}
    for a in AGENT:
        table[a.text] = {"banned": [{"rule": "r", "span": s, "suggestion": ""} for s in a.spans]}
    for k in KB:
        table[k.text] = {"knowledge": [{"id": k.kb_id, "question": "", "answer": "", "score": 1}]
                         if k.kb_id else []}
    report = evaluate(ScriptedAnalyzer(table), CALLER, AGENT, KB, {TYPED: lambda s: s}, warmup=0)
    assert all(t.passed for t in check_targets(report, speed=False))
    assert report.conditions[TYPED].errors == []


@pytest.mark.parametrize(
    ("text", "labelled", "hit", "expected"),
    [
        ("这是规定，我没办法。", ["这是规定，我没办法"], "这是规定我没办法", True),
        ("这是规定，我没办法。", ["这是规定，我没办法"], "没办法", True),
        ("关于喂养宠物。", [], "喂", False),
        ("喂，您好，喂养宠物", ["喂"], "喂", True),
        ("应该 过 两天", ["应该过两天"], "应该", True),
        ("您好", ["您好"], "您 好", True),
        ("一二三", ["一二三"], "123", False),
    ],
)
def test_span_matching(text: str, labelled: list[str], hit: str, expected: bool) -> None:
    assert span_matches(text, labelled, hit) is expected


def test_classify_counts_missing_predictions_as_wrong() -> None:
    result = classify([("咨询", "咨询"), ("咨询", None), ("表扬", "咨询")], ["咨询", "表扬"])
    assert result.accuracy == pytest.approx(1 / 3)
    assert result.labels["咨询"].precision == 0.5 and result.labels["咨询"].recall == 0.5
    assert ("咨询", "∅", 1) in result.confusions


def _write(tmp_path: Path, rows: list[Any]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows),
                    encoding="utf-8")
    return path


def test_loaders_reject_bad_rows_with_file_and_line(tmp_path: Path) -> None:
    good = {"id": "c1", "text": "停水了", "intent": "一般诉求", "emotion": "平静", "department": "水务",
            "referrals": [], "critical": False}
    assert load_caller_cases(_write(tmp_path, [good]))[0].department == "水务"
    # numbers written as JSON integers (the blind sets) and a "category" label read as in the older sets
    blind = {k: v for k, v in good.items() if k != "intent"} | {"category": "一般诉求", "referrals": [110]}
    assert load_caller_cases(_write(tmp_path, [blind]))[0].referrals == ("110",)
    for bad, message in [
        ({**good, "intent": "闲聊"}, "unknown intent"),
        ({**good, "referrals": ["急救"]}, "referrals"),
        ({k: v for k, v in good.items() if k != "critical"}, "missing field 'critical'"),
        ("{not json", "invalid JSON"),
    ]:
        with pytest.raises(DatasetError, match=message) as info:
            load_caller_cases(_write(tmp_path, [good, bad]))
        assert ":2:" in str(info.value)
    agent = {"id": "a1", "text": "喂您好", "violation": True, "spans": ["喂"], "kind": "禁用语"}
    assert load_agent_cases(_write(tmp_path, [agent]))[0].spans == ("喂",)
    with pytest.raises(DatasetError, match="substring"):
        load_agent_cases(_write(tmp_path, [{**agent, "spans": ["哦"]}]))
    with pytest.raises(DatasetError, match="violation"):
        load_agent_cases(_write(tmp_path, [{**agent, "violation": False}]))
    kb = load_kb_cases(_write(tmp_path, [{"text": "公积金", "kb_id": None}]))
    assert kb[0].split == "all" and kb[0].kb_id is None
    with pytest.raises(DatasetError, match="not found"):
        load_kb_cases(tmp_path / "missing.jsonl")
