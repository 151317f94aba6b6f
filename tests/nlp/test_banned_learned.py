"""The operator's learned heads: banned wording no rule describes, warned at the final with its class's wording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.cli.train import main
from assist.nlp.analyzer import Analyzer
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.learned import LearnedModel
from assist.nlp.normalize import normalize
from assist.nlp.traindata import Head, TrainDataError, read_examples

DATA = Path(__file__).resolve().parents[2] / "assist" / "nlp" / "data"


@pytest.fixture(scope="module")
def banned() -> BannedList:
    return BannedList.load(DATA / "banned.toml")


def test_a_learned_hit_gives_its_class_wording(banned: BannedList) -> None:
    hit = banned.learned_hit("这事你得自己去街道问", "推诿", department="民政")
    assert hit is not None and hit.rule == "learned" and hit.category == "推诿"
    assert hit.span.text == "这事你得自己去街道问" and "民政" in hit.suggestion
    unknown = banned.learned_hit("随便吧", "没有的类别")
    assert unknown is not None and unknown.suggestion == banned.learned["default"]
    crisis = banned.learned_hit("你冷静点行不行", "情绪命令", crisis=("12356",))
    assert crisis is not None and "12356" in crisis.suggestion  # a caller in danger: keep them on the line
    # all of it is the caller's words repeated back: not the operator's own
    assert banned.learned_hit('"你找错地方了"', "推诿") is None


def test_a_standard_time_commitment_gets_no_learned_warning(banned: BannedList) -> None:
    # the empathy card's own 行动承诺 wording; the model had read it as 模糊承诺 (new-user trial)
    for said in ("我们会在3个工作日内向您反馈进展", "承办单位会在规定时限内给您答复", "两个小时内给您回电"):
        assert banned.learned_hit(said, "模糊承诺") is None, said
    assert banned.learned_hit("我们会尽量帮您弄", "模糊承诺") is not None  # no time limit: the model's call
    # the guard answers promises only: scolding next to a time limit is still warned (review)
    assert banned.learned_hit("三个工作日内给您回复,你们这种人就是事多", "指责顶撞") is not None


def test_the_shipped_model_leaves_a_time_commitment_alone() -> None:
    analyzer = Analyzer.load(learned=True)
    for said in ("我们会在3个工作日内向您反馈进展", "我们会在三个工作日内向您反馈进展"):
        assert analyzer.analyze_final("agent", said).banned == (), said
    assert analyzer.analyze_final("agent", "我们大概三天内给您回复吧").banned  # hedged: the rules warn


def test_operator_rows_are_read_as_the_operators_heads(tmp_path: Path) -> None:
    f = tmp_path / "ops.jsonl"
    f.write_text('{"text": "你嚷嚷也没用", "violation": true, "kind": "情绪命令"}\n'
                 '{"text": "我马上帮您查", "violation": false, "kind": null}\n', encoding="utf-8")
    yes, no = read_examples(f)
    assert yes.agent and yes.label(Head.VIOLATION) == "true" and yes.label(Head.BANNED_KIND) == "情绪命令"
    assert no.label(Head.VIOLATION) == "false" and no.label(Head.CATEGORY) is None
    f.write_text('{"text": "我马上帮您查", "violation": false, "kind": "推诿"}\n', encoding="utf-8")
    with pytest.raises(TrainDataError, match=r"ops\.jsonl:1: kind"):
        read_examples(f)


def test_train_learns_the_operator_heads_with_a_precision_threshold(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    rows = [json.loads(x) for x in (DATA / "train" / "operator.jsonl").read_text(encoding="utf-8").splitlines()]
    callers = [json.loads(x) for x in (DATA / "train" / "caller.jsonl").read_text(encoding="utf-8").splitlines()]
    data = tmp_path / "mixed.jsonl"
    lines = [json.dumps({"text": r["text"], "violation": r["violation"], "kind": r["kind"]}, ensure_ascii=False)
             for r in rows[:400]]
    per: dict[str, int] = {}
    for r in callers:
        cat = r.get("category")
        if cat and per.get(cat, 0) < 30:
            per[cat] = per.get(cat, 0) + 1
            lines.append(json.dumps({"text": r["text"], "category": cat}, ensure_ascii=False))
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    assert main(["--data", str(data), "--out", str(out), "--encoder", "none", "--folds", "3", "--quiet",
                 "--drop-rare"]) == 0
    printed = capsys.readouterr().out
    assert "== banned phrases (operator)" in printed and "== violation" in printed
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert set(meta["heads"]) >= {"violation", "banned_kind", "category"}
    figures = meta["figures"]["banned"]
    assert figures["combined"]["precision"] >= 0.95 or meta["banned"]["threshold"] == 2.0
    assert figures["combined"]["recall"] >= figures["rules"]["recall"]  # the model only adds warnings
    model = LearnedModel.load(out)
    assert model.banned_threshold == meta["banned"]["threshold"]


def test_the_shipped_model_warns_on_wording_no_rule_describes() -> None:
    analyzer = Analyzer.load(learned=True)
    said = "您这要求也太多了吧,别人都没您这么多事"
    assert analyzer.analyze("agent", said).banned == ()  # the rules miss it
    final = analyzer.analyze_final("agent", said)
    assert [h.rule for h in final.banned] == ["learned"] and final.banned[0].suggestion
    fine = analyzer.analyze_final("agent", "您先别着急,我马上帮您查一下办理进度")
    assert fine.banned == ()


@pytest.mark.parametrize("text", ["好的还有其他问题吗", "这个情况我了解了", "嗯那个呃就是这样子啊", "请问您贵姓",
                                  "感谢您的来电,再见。", "刘师傅您好 您请说", "您好 请讲"])  # new-user trial 13
def test_standard_wording_and_filler_get_no_learned_warning(text: str) -> None:
    # the fourth new-user trial: the closing 好的还有其他问题吗 drew a 禁用语 flash and a supervisor warning
    banned = BannedList.load(DEFAULT_DATA_DIR / "banned.toml")
    assert banned.learned_hit(normalize(text).text, "禁用语") is None
    assert banned.learned_hit(normalize(text + "你快点说").text, "禁用语") is not None  # with a lapse it is warned


@pytest.mark.parametrize(
    ("text", "kind", "warned"),
    [
        ("好的 无房职工租房是可以提取公积金的", "推诿", False),  # new-user trial 10: a correct answer
        ("这事归区里管 您直接打区政府电话吧", "推诿", True),
        ("行嘞大姐 这事儿我立马给您派单 派完了给您回个话", "绝对承诺", False),
        ("拖欠的工资一分都不会少 我们一定帮您要回来", "绝对承诺", True),
        ("具体几号发钱这个我们也没有信息啊", "推脱不知", True),
        # an honest limit followed by an action (the retired blind v22), and one that is not
        ("俺这边不知道那个拆迁公告贴没贴 俺马上给您联系街道 问准了给您回个话", "推脱不知", False),
        ("我也不清楚,我帮您查一下", "推脱不知", False),
        ("我也不清楚 您去街道问问吧", "推脱不知", True),
        ("我不知道 帮你问了也白问", "推脱不知", True),
        ("这个我不知道,我帮您查一下也没什么用", "推脱不知", True),  # the action taken back (the review of stop 24)
        ("这个我们不掌握,给您记下,反正我们也管不了", "推脱不知", True),
        ("这个我不清楚 我帮您查一下 具体几号发我也不知道", "推脱不知", True),  # the second word has no action
        ("您这火气也太大了 先消消气再说吧", "情绪命令", True),  # a class without cues: warned as read
    ],
)
def test_a_learned_warning_needs_a_word_of_its_class(banned: BannedList, text: str, kind: str,
                                                      warned: bool) -> None:
    assert (banned.learned_hit(normalize(text).text, kind) is not None) is warned
