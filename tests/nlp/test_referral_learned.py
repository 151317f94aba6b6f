"""The learned referral head: labels read, a number learned that no rule gives, its precision threshold on
validation folds, the model's numbers in the analysis (names from the table), and the shipped model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from assist.cli.train import main
from assist.nlp.analyzer import Analyzer
from assist.nlp.features import RuleView
from assist.nlp.learned import LearnedModel, LearnedReferral, LearnedResult
from assist.nlp.refine import Refinement
from assist.nlp.refine import apply as refine_apply
from assist.nlp.traindata import TrainDataError, read_examples

TAXI = "12328"  # a number the rules never give (not in referrals.toml)


def test_referral_labels_are_read(tmp_path: Path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text('{"text": "商家不退款", "referrals": [12315, "12315", "110"]}\n{"text": "路灯坏了", "referrals": []}\n'
                 '{"text": "谢谢你"}\n{"text": "a", "violation": true}\n', encoding="utf-8")
    got = [e.referrals for e in read_examples(f)]
    assert got == [("12315", "110"), (), None, None]
    csv = tmp_path / "c.csv"
    csv.write_text("text,referrals\n商家不退款,\"12315, 110\"\n路灯坏了,\n", encoding="utf-8")
    assert [e.referrals for e in read_examples(csv)] == [("12315", "110"), None]
    f.write_text('{"text": "商家不退款", "referrals": ["消协"]}\n', encoding="utf-8")
    with pytest.raises(TrainDataError, match=r"c\.jsonl:1: field 'referrals'"):
        read_examples(f)


def _synthetic(path: Path) -> Path:
    """Taxi complaints (12328, 48 of them), a rare number (12399, 6), and ordinary requests with no number."""
    who = ["出租车司机", "网约车师傅", "的哥", "出租车"]
    what = ["故意绕路多收了我钱", "拒载不肯拉我去医院", "半路把我赶下车", "不打表乱要价"]
    when = ["昨天晚上", "今天早上", "刚才在火车站"]
    lines = [{"text": f"{w}{a}{b},我要投诉", "category": "投诉举报", "referrals": [TAXI]}
             for a, b, w in itertools.product(who, what, when)]
    chores = ["楼道的灯坏了好几天了", "小区门口的垃圾没人清", "路边的井盖松了", "公园的长椅断了",
              "我家的水压太小", "楼下的广场舞太吵", "公交站的顶棚漏雨", "门口的树枝挡住了路"]
    asks = ["麻烦你们派人来看看", "能不能尽快处理一下", "请问该找哪个部门", "希望早点修好", "谢谢你们了",
            "都反映过两次了"]
    lines += [{"text": f"{a},{b}", "category": "一般诉求", "referrals": []} for a, b in itertools.product(chores, asks)]
    lines += [{"text": f"我想问一下{x}的办理流程", "category": "咨询", "referrals": ["12399"]}
              for x in ("居住证", "护照", "驾照换证", "社保卡", "医保转移", "落户")]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    return path


def test_train_learns_a_number_the_rules_never_give(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model"
    assert main(["--data", str(_synthetic(tmp_path / "taxi.jsonl")), "--out", str(out), "--encoder", "none",
                 "--folds", "3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "== referrals" in printed and "overall referral recall: rules alone" in printed
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["referral"]["numbers"] == [TAXI]  # 12399 has too few examples to be learned
    fig = meta["figures"]["referrals"]["per_number"][TAXI]
    assert fig["positives"] == 48 and fig["rules"]["recall"] == 0.0  # the rules never give it
    # the threshold was chosen on validation folds to keep the stated precision there
    assert fig["model"]["precision"] >= meta["referral"]["precision"] == 0.8
    assert fig["model"]["recall"] > 0.8 and fig["combined"]["recall"] == fig["model"]["recall"]
    overall = meta["figures"]["referrals"]
    assert overall["combined"]["recall"] > overall["rules"]["recall"]
    assert "## Referral numbers" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    model = LearnedModel.load(out)
    assert model.referral is not None and model.referral.numbers == (TAXI,)
    row = model.space.row("的哥刚才在火车站拒载不肯拉我去医院,我要投诉")
    dense = model.dense(None, RuleView("投诉举报", "平静", None, False, ()))
    got = model.referral.predict(row.indices, row.values, dense)
    assert [r.number for r in got] == [TAXI]


@pytest.fixture(scope="module")
def rules_analyzer() -> Analyzer:
    return Analyzer.load(learned=False)


def _refine(analyzer: Analyzer, text: str, *refs: LearnedReferral) -> tuple[str, ...]:
    a = analyzer.analyze("caller", text)
    out = refine_apply(analyzer, a, Refinement(LearnedResult({}, None, referrals=refs), None), None, None)
    return tuple(r.number for r in out.referrals)


def test_a_learned_number_reaches_the_analysis_with_the_tables_name(rules_analyzer: Analyzer) -> None:
    text = "楼道的灯坏了好几天了,麻烦你们派人来看看"
    a = rules_analyzer.analyze("caller", text)
    assert not a.referrals and not a.critical
    refs = (LearnedReferral("12315", 0.91, False), LearnedReferral("99999", 0.99, True))  # 99999: not in the table
    out = refine_apply(rules_analyzer, a, Refinement(LearnedResult({}, None, referrals=refs), None), None, None)
    assert [(r.number, r.name, r.reason) for r in out.referrals] == [
        ("12315", (info := rules_analyzer.referrals.rows["12315"]).name, info.reason)]
    assert out.scores["learned"]["referral_12315"] == 0.91


def test_learned_emergencies_lead_and_a_flagged_caller_gets_a_hotline_only_when_confident(
        rules_analyzer: Analyzer) -> None:
    text = "我家着火了,火很大"
    a = rules_analyzer.analyze("caller", text)
    assert a.critical and a.referrals[0].number == "119"
    got = _refine(rules_analyzer, text, LearnedReferral("12315", 0.95, False), LearnedReferral("120", 0.9, False))
    assert got[0] == "119" and "120" in got and "12315" not in got  # an emergency, not a shopping hotline
    assert got.index("120") < len(a.referrals) + 1  # after the rules' emergencies, before the rest
    assert "12315" in _refine(rules_analyzer, text, LearnedReferral("12315", 0.99, True))


def test_a_learned_110_for_a_caller_at_risk_has_the_crisis_script(rules_analyzer: Analyzer) -> None:
    text = "我家着火了,火很大"
    a = rules_analyzer.analyze("caller", text)
    assert a.critical and "110" not in {r.number for r in a.referrals}
    out = refine_apply(rules_analyzer, a, Refinement(LearnedResult({}, None, referrals=(
        LearnedReferral("110", 0.9, True),)), None), None, None)
    police = next(r for r in out.referrals if r.number == "110")
    assert police.script == rules_analyzer.referrals.rows["110"].crisis_script  # not 治安或刑事案件 (review)


@pytest.fixture(scope="module")
def shipped() -> Analyzer:
    a = Analyzer.load(learned=True)
    assert a.learned is not None and a.learned.model.referral is not None
    return a


@pytest.mark.parametrize(("text", "numbers"), [
    ("脚手架整个倒下来了,底下还有人在喊", ("119", "120")),  # trapped and injured: rescue and ambulance
    # (厂房塌了,有两个工人被压在下面了 was the case before: the rules give its 119 and 120 now, so it no
    # longer shows what the head adds; tests/nlp/test_intent_referral.py has it)
])
def test_the_shipped_model_gives_the_rescue_numbers_the_rules_miss(shipped: Analyzer, text: str,
                                                                   numbers: tuple[str, ...]) -> None:
    a = shipped.analyze_final("caller", text)
    got = [r.number for r in a.referrals]
    assert set(numbers) <= set(got), (got, a.scores["learned"])
    assert got[0] == "119" and a.critical  # workers trapped: rescue leads (被困's numbers, referrals.toml)
    engine = shipped.learned
    assert engine is not None
    head, engine.model.referral = engine.model.referral, None
    try:  # without the referral head these numbers are missing
        without = {r.number for r in shipped.analyze_final("caller", text).referrals}
    finally:
        engine.model.referral = head
    assert not set(numbers) <= without


def test_the_shipped_model_gives_a_consumer_dispute_12315(shipped: Analyzer) -> None:
    a = shipped.analyze_final("caller", "美容院办卡的时候说随时可以退,现在不给退了")
    assert [r.number for r in a.referrals] == ["12315"]
    assert a.referrals[0].name == shipped.referrals.rows["12315"].name
    assert a.scores["learned"]["referral_12315"] >= 0.9
