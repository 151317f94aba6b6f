"""Two tiers of crisis signal (crisis card / safety question) and the emergency numbers of a danger's kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.nlp.data import DataError
from assist.nlp.learned import decide_critical
from assist.nlp.referral import ReferralTable
from assist.nlp.traindata import Head, TrainDataError, read_examples
from assist.nlp.trainer import choose_confident, choose_critical

RULE = {"model_threshold": 0.15, "similarity_threshold": 0.05, "use_rules": 1.0, "confident_threshold": 0.6}
TABLE = Path(__file__).resolve().parents[2] / "assist" / "nlp" / "data" / "referrals.toml"


@pytest.mark.parametrize(("rules", "p", "sim", "flagged", "confident", "source"), [
    (True, 0.0, 0.0, True, True, "rules"),          # a rule always raises the crisis card
    (False, 0.7, 0.0, True, True, "model"),         # a confident net too
    (False, 0.3, 0.0, True, False, "model"),        # above the recall threshold only: a safety question
    (False, 0.1, 0.1, True, False, "similarity"),   # near the crisis bank: a safety question ...
    (False, 0.1, 0.9, True, False, "similarity"),   # ... however near: the similarity net alone never raises the card
    (False, 0.1, 0.0, False, False, ""),
])
def test_two_tiers(rules: bool, p: float, sim: float, flagged: bool, confident: bool, source: str) -> None:
    d = decide_critical(rules, p, sim, RULE)
    assert (d.critical, d.confident, d.source) == (flagged, confident, source)


def test_a_model_trained_before_the_tiers_keeps_one_tier() -> None:
    old = {k: v for k, v in RULE.items() if not k.startswith("confident")}
    d = decide_critical(False, 0.3, 0.0, old)
    assert d.critical and d.confident


def test_the_confident_tier_is_chosen_for_precision_on_validation() -> None:
    truth = [True] * 10 + [False] * 10
    rules = [True, True] + [False] * 18
    probs = [0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.3, 0.3, 0.2, 0.2, 0.65, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]
    mc = choose_confident(truth, rules, probs, 0.2, 0.85)
    # the model's own flags where the rules are silent: above 0.65 three of three are right; at 0.6, 4 of 5 (0.8)
    own = [p >= mc for r, p in zip(rules, probs, strict=True) if not r]
    right = [t for r, t in zip(rules, truth, strict=True) if not r]
    assert 0.65 < mc <= 0.7 and sum(o and t for o, t in zip(own, right, strict=True)) == sum(own) == 3
    # no threshold reaches the precision: nothing but the rules raises the card
    assert choose_confident(truth, [False] * 20, [0.5] * 20, 0.2, 0.99) == 2.0


def test_recall_is_bought_with_precision_only_down_to_the_floor() -> None:
    """Ten callers at risk the model scores 0.9 … 0.1, ten calm ones at 0.35 and twenty at 0.01: the last two at
    risk cost the ten calm ones at 0.35.  Without a floor, the 99% target takes them all (precision 50%); a floor of
    80% stops at 80% recall; a target already reached above the floor keeps its best precision."""
    truth = [True] * 10 + [False] * 30
    probs = [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.2, 0.1] + [0.35] * 10 + [0.01] * 20
    rules, sims = [False] * 40, [0.0] * 40
    mt, _, _ = choose_critical(truth, rules, probs, sims, 0.99)
    assert mt <= 0.1  # every caller at risk flagged, and the calm ones with them
    mt, _, _ = choose_critical(truth, rules, probs, sims, 0.99, 0.8)
    flagged = [p >= mt for p in probs]
    assert flagged[:8] == [True] * 8 and not any(flagged[8:])  # 8 of 10 at 100%: the floor holds
    mt, _, _ = choose_critical(truth, rules, probs, sims, 0.8, 0.8)
    assert not any(p >= mt for p in probs[8:])


def test_imprecise_rules_do_not_cap_the_models_confident_tier() -> None:
    # the rules fire on 4 look-alikes (precision 50%); the model's own flags above 0.8 are all right
    truth = [True] * 4 + [False] * 4 + [True] * 4 + [False] * 8
    rules = [True] * 8 + [False] * 12
    probs = [0.5] * 8 + [0.95, 0.9, 0.85, 0.3] + [0.2] * 8
    mc = choose_confident(truth, rules, probs, 0.2, 0.9)
    assert 0.3 < mc <= 0.85  # all three of the model's own flags, none of its misses
    # "rules OR model" is never 90% precise here: the old choice left the model no tier at all
    assert choose_confident(truth, rules, probs, 0.2, 0.9) != 2.0


def test_emergency_numbers_and_questions_by_kind() -> None:
    table = ReferralTable.load(TABLE)
    assert [r.number for r in table.for_crisis("自伤自杀", "x")] == ["110", "12356"]
    assert [r.number for r in table.for_crisis("燃气泄漏", "x")] == ["119"]
    assert table.for_crisis(None, "x") == [] and table.for_crisis("未知", "x") == []
    assert "120" in table.safety_question("医疗急症")
    assert table.safety_question(None) == table.safety_question("未知") == table.safety_questions["default"]


@pytest.mark.parametrize(("line", "wrong", "named"), [
    ('"火灾" = ["119"]', '"火灾" = ["999"]', "火灾"),                   # a crisis kind's number
    ('"人社/咨询" = "12333"', '"人社/咨询" = "99999"', "人社/咨询"),     # a matter's hotline
])
def test_a_number_not_in_the_table_is_refused(tmp_path: Path, line: str, wrong: str, named: str) -> None:
    bad = tmp_path / "referrals.toml"
    bad.write_text(TABLE.read_text(encoding="utf-8").replace(line, wrong), encoding="utf-8")
    with pytest.raises(DataError, match=named):
        ReferralTable.load(bad)


def test_the_kind_is_read_as_a_head_and_checked(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "我在楼顶上", "critical": true, "critical_kind": "自伤自杀"}\n', encoding="utf-8")
    [e] = read_examples(data)
    assert e.label(Head.KIND) == "自伤自杀"
    data.write_text('{"text": "路灯坏了", "critical": false, "critical_kind": "火灾"}\n', encoding="utf-8")
    with pytest.raises(TrainDataError, match=r"d\.jsonl:1: critical_kind"):
        read_examples(data)


def test_the_hotline_of_a_matter_placed_by_the_model() -> None:
    table = ReferralTable.load(TABLE)
    got = table.for_matter("市场监管", "投诉举报")
    assert got is not None and got.number == "12315"
    assert table.for_matter("市场监管", "咨询") is None and table.for_matter(None, None) is None



@pytest.mark.parametrize(("rules", "p", "sure"), [
    (True, 0.0, True),    # the rules' sign is sure
    (False, 0.95, True),  # the model above its sure threshold
    (False, 0.7, False),  # confident (the card) but not sure: on a call's first sign, the question first
])
def test_the_sure_tier(rules: bool, p: float, sure: bool) -> None:
    d = decide_critical(rules, p, 0.0, {**RULE, "sure_threshold": 0.9})
    assert d.confident and d.sure is sure
    assert decide_critical(rules, p, 0.0, RULE).sure  # a model trained before the sure tier: confident is sure


FIRST_SIGN = "我们这下大雨了水有点上来了"  # the trial's flood call: the model alone flags it


def test_the_models_first_sign_in_a_call_asks_before_it_raises_the_card() -> None:
    """In a call with no earlier sign of danger, a model-only flag below its sure threshold asks the safety
    question (no crisis mode, no supervisor alert); after a sign, the same flag raises the card; a rules sign
    always does; without a call (one utterance, ``assist analyze``) nothing changes."""
    from assist.nlp.analyzer import Analyzer, CallContext
    from assist.protocol.enums import Role

    analyzer = Analyzer.load(learned=True)
    assert analyzer.learned is not None
    rule = analyzer.learned.model.critical_rule
    alone = analyzer.analyze_final(Role.CALLER, FIRST_SIGN)
    assert alone.critical and alone.scores["learned"]["critical"] < 0.99
    analyzer.learned.model.critical_rule = {**rule, "sure_threshold": 0.99}
    try:
        ctx = CallContext()
        first = analyzer.analyze_final(Role.CALLER, FIRST_SIGN, ctx)
        assert not first.critical and first.safety_question is not None
        second = analyzer.analyze_final(Role.CALLER, "水已经到膝盖了我出不去", ctx)
        assert second.critical  # a second sign in the call: the card
        rules_first = analyzer.analyze_final(Role.CALLER, "我爸躺在地上叫不醒", CallContext())
        assert rules_first.critical  # the rules' sign needs no earlier one
        assert analyzer.analyze_final(Role.CALLER, FIRST_SIGN).critical  # no call: as before
    finally:
        analyzer.learned.model.critical_rule = rule


def test_the_sure_tier_counts_the_models_own_flags_only() -> None:
    """Rules with poor precision must not keep the model's sure tier from being set."""
    from assist.nlp.trainer import choose_sure

    truth = [True] * 10 + [False] * 10
    probs = [0.99] * 8 + [0.5] * 2 + [0.98] + [0.1] * 9
    assert choose_sure(truth, probs, 0.5, 0.85) <= 0.99  # 8 of 9 at 0.98: reachable, rules aside
    t = choose_sure(truth, probs, 0.5, 0.85)
    flagged = [p >= t for p in probs]
    assert sum(f and y for f, y in zip(flagged, truth, strict=True)) / sum(flagged) >= 0.85
    assert choose_sure(truth, probs, 0.5, 0.99) > 0.98  # above the false flag at 0.98
    worst = [0.9] * 10 + [1.0] + [0.1] * 9  # the most probable flag is wrong: no threshold is precise enough
    assert choose_sure(truth, worst, 0.5, 0.99) == 2.0  # the model alone never skips the question


def test_a_second_sign_in_the_call_raises_the_card_unless_it_opens_with_a_denial() -> None:
    """The caller's answer to the safety question, a weak sign of its own, confirms the danger: the card.
    An answer that opens by denying it (没有没有,我在家呢…) keeps the question instead."""
    from assist.nlp.analyzer import Analyzer, CallContext
    from assist.protocol.enums import Role

    analyzer = Analyzer.load(learned=True)
    weak = "家里人都不理解我我好累"
    answer = "什么事都不想做了"  # a weak sign of its own, no cue (model 0.21 with 20261206-2168fdde)
    alone = analyzer.analyze_final(Role.CALLER, answer)
    assert not alone.critical and alone.safety_question is not None  # weak on its own
    ctx = CallContext()
    assert analyzer.analyze_final(Role.CALLER, weak, ctx).safety_question is not None
    analyzer.analyze(Role.AGENT, "您现在有没有伤害自己的打算", ctx)  # the operator asks
    assert analyzer.analyze_final(Role.CALLER, answer, ctx).critical  # the answer confirms it
    ctx = CallContext()
    analyzer.analyze_final(Role.CALLER, weak, ctx)
    analyzer.analyze(Role.AGENT, "您现在有没有伤害自己的打算", ctx)
    denial = analyzer.analyze_final(Role.CALLER, "没有没有我在家呢就是最近加班太多想歇一阵", ctx)
    assert not denial.critical
