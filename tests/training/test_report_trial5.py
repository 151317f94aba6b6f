"""The training report on the fifth new-user trial's calls (tests/data/trial5, CC0), replayed through a real
server on port 0 with the shipped analysis engine, as the trial's trainer ran them (`assist replay ... --speed max`):

* #8, c-wuye-angry: the trainee's 您反映的情况我非常理解 (00:29) and 您的心情我理解 are 情绪承接, and the wording the
  report suggests fits the angry caller (empathy.toml's 愤怒 line), not the 焦虑 template.
* #9, a-shebao-farewell: 您住哪个区呢? at 00:15, a routine 社保 question 40 s before any crisis sign, is no
  crisis step 询问位置.
* #21: the stored call lasts its audio (1:05), not the fraction of a second the replay took.
* #22: 12345 is quoted as one number, not 1 2 3 4 5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assist.nlp.crisis_rules import CrisisRules
from assist.protocol.decode import decode_events
from assist.protocol.enums import Emotion
from assist.text import join_cjk
from assist.training.crisis import Said, judge
from assist.training.empathy_wording import acknowledgement
from assist.training.report import build_report
from assist.training.report_shape import TrainingReport
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules
from assist.web.server import AssistServer
from tests.support.training import replay_file, store_of, stored_call

TRIAL5 = Path(__file__).resolve().parents[1] / "data" / "trial5"


async def replay(server: AssistServer, name: str, call_id: str) -> list[dict[str, Any]]:
    return await replay_file(server, TRIAL5 / f"{name}.jsonl", call_id)


async def report_of(server: AssistServer, name: str, call_id: str, rules: TrainingRules) -> TrainingReport:
    return build_report(decode_events(await replay(server, name, call_id)), rules)


# ---------------------------------------------------------------- #8: 情绪承接 of an angry caller


async def test_c_the_trainees_empathy_is_credited_and_the_wording_fits_anger(
        server: AssistServer, rules: TrainingRules) -> None:
    report = await report_of(server, "c-wuye-angry", "t5-c", rules)
    # an angry third-time complainer: model 20261206-f7c7a8b5 reads 你们每次都是这么说,到底什么时候能修好 as 失望 0.87
    # beside 你这是什么态度 as 愤怒 0.85; the wording follows the strongest, never the 焦虑 template
    assert report.emotion is not None and report.emotion.label in (Emotion.ANGER, Emotion.DISAPPOINTMENT)
    first = report.empathy.steps[0]
    assert first.step == "情绪承接" and first.done
    assert first.time == pytest.approx(29.0, abs=0.1) and "您反映的情况我非常理解" in (first.said or "")
    assert first.late is not None and first.late.banned == 1  # after 这个我也不知道啊 (banned), still a finding
    angry = acknowledgement(report.emotion.label, "")
    assert angry and "焦虑" not in angry
    assert first.expected == angry
    text = render_text(report)
    assert "✓ 情绪承接 [00:29]" in text and "✗ 情绪承接" not in text
    assert not any("焦虑" in s for s in report.suggestions)
    assert any(s.startswith("「情绪承接」晚了") and angry in s for s in report.suggestions)


def test_the_empathy_cues_take_up_feelings_said_object_first(rules: TrainingRules) -> None:
    step = rules.steps[0]
    for said in ("您的心情我理解,工单我已经标注为加急", "您反映的情况我非常理解", "您的感受我们完全能理解"):
        assert step.done_in(rules.normalize(said)), said
    for said in ("您反映的情况我已经记录了", "这个情况我不理解"):
        assert not step.done_in(rules.normalize(said)), said


def test_each_emotion_gets_its_own_acknowledgement() -> None:
    lines = {e: acknowledgement(e, "") for e in (Emotion.ANGER, Emotion.ANXIETY, Emotion.DISAPPOINTMENT)}
    assert "焦虑" in lines[Emotion.ANXIETY] and "失望" in lines[Emotion.DISAPPOINTMENT]
    assert len(set(lines.values())) == 3


# ---------------------------------------------------------------- #9: crisis steps from the first sign on


async def test_a_a_routine_question_before_the_crisis_is_not_the_location_step(
        server: AssistServer, rules: TrainingRules) -> None:
    report = await report_of(server, "a-shebao-farewell", "t5-a", rules)
    assert report.crisis is not None and report.crisis.confirmed
    where = next(i for i in report.crisis.items if i.item == "询问位置")
    assert not where.done and where.said is None
    assert any(s.startswith("危急来电缺少「询问位置」") for s in report.suggestions)
    assert "✗ 询问位置" in render_text(report) and "您住哪个区呢" not in render_text(report).split("危急处置")[1]


def test_the_location_asked_between_the_first_sign_and_the_crisis_card_counts() -> None:
    crisis = CrisisRules.load()
    asked = Said("您现在在哪个小区", "您现在在哪个小区", 20.0, 22.0)
    routine = Said("您住哪个区呢", "您住哪个区呢", 5.0, 7.0)
    # the safety card came at 18 s, the crisis card at 30 s: asked in between counts
    check = judge(crisis, 30.0, ("110",), [routine, asked], first_sign=18.0)
    assert next(i for i in check.items if i.item == "询问位置").time == 20.0
    # before any sign: not a crisis step
    check = judge(crisis, 30.0, ("110",), [routine], first_sign=18.0)
    assert not next(i for i in check.items if i.item == "询问位置").done
    assert not next(i for i in judge(crisis, 30.0, ("110",), [routine]).items if i.item == "询问位置").done


# ---------------------------------------------------------------- #21 and #22: the stored call and 12345


async def test_c_the_stored_replay_lasts_its_audio_and_quotes_12345(server: AssistServer, rules: TrainingRules) -> None:
    report = await report_of(server, "c-wuye-angry", "t5-c-stored", rules)
    await stored_call(store_of(server), "t5-c-stored")
    (listed,) = await store_of(server).list_calls(call_id="t5-c-stored")
    assert listed["duration"] == pytest.approx(65.6, abs=1.0)  # 1:05 like the report, not the 0.3 s it took
    assert report.duration == pytest.approx(listed["duration"], abs=1.0)
    a = await report_of(server, "a-shebao-farewell", "t5-a-quote", rules)
    assert a.opening.said is not None and a.opening.said.startswith("您好，12345")  # 开头语规范's quote
    assert "✓ 开头语 [00:00] 您好，12345 政务服务便民热线" in render_text(a) and "1 2 3" not in render_text(a)


def test_join_cjk_keeps_the_digits_of_a_number_together() -> None:
    assert join_cjk("您 好 ， 1 2 3 4 5 政 务 服 务 热 线 。") == "您好，12345 政务服务热线。"
    assert join_cjk("打 12345 热线") == "打 12345 热线"  # a number next to Chinese keeps its space
    assert join_cjk("转 1 1 0 或 者 1 2 0") == "转 110 或者 120"
    assert join_cjk("138 1234") == "138 1234"  # two numbers of several digits stay apart
    assert join_cjk(" 我 想 问 一下 公积金 ") == "我想问一下公积金"


async def test_h_numbers_the_trainee_said_are_heard_in_a_transcript_replay(server: AssistServer,
                                                                          rules: TrainingRules) -> None:
    """A transcript replay splits typed text into characters (1 2 0): the report missed 我建议您马上拨打120
    (120 "未告知来电人", 转接处置 ✗) and 您好,12345热线 (开头语 "缺少报热线名"); the normaliser joins the digits."""
    report = await report_of(server, "h-chestpain-downplay", "t5-h-digits", rules)
    assert report.opening.used, report.opening
    offers = [r for r in report.referrals if r.number == "120"]
    assert offers and offers[0].given and "拨打" in (offers[0].given_said or ""), offers
    assert report.crisis is not None
    assert next(i for i in report.crisis.items if i.item == "转接处置").done
