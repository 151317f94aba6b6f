"""The third new-user trial's crisis problems (tests/data/trial3: the trial's own call scripts, CC0), replayed
word by word with partials and the learned path as the overlay saw them.

- e4: a routine 社保 call in north-eastern dialect became a red suicide crisis from two weak model guesses
  (俺这社保断了仨月了咋整啊还能续上不, 俺俩都快被这事儿逼疯了) through the "second sign" rule: weak signs now
  need evidence (assist/nlp/weak_signs.toml), and the true despair of e2 still raises its card.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assist.live.crisis import shipped_kinds
from assist.live.prompts import LiveAssist
from assist.nlp.analysis import UtteranceRecord
from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.weaksigns import WeakSigns
from assist.protocol.enums import AlertKind, PromptKind, Role
from assist.protocol.events import Alert, Prompt
from assist.protocol.payloads import CriticalPayload, EmpathyPayload, SafetyPayload
from tests.support.caller_lines import crisis_tiers
from tests.support.word_replay import DATA, Turn, call_lines, critical_cards, replay_words, shown

TRIAL3 = DATA / "trial3"
CALLS = ["e2-heating-goodbye", "e3-balcony-child", "e4-dialect-shebao", "e6-noise-threat"]


def rows(name: str) -> list[dict[str, object]]:
    return call_lines(TRIAL3 / f"{name}.jsonl")


def caller_lines(name: str) -> list[str]:
    return ["".join(str(r["text"]).split()) for r in rows(name) if r["role"] == "caller"]


@pytest.fixture(scope="module")
def calls(learned: Analyzer) -> dict[str, tuple[LiveAssist, Turn]]:
    return {name: replay_words(learned, name, rows(name)) for name in CALLS}


def critical_alerts(live: LiveAssist) -> list[Alert]:
    return [a for a in live.alerts if a.kind is AlertKind.CRITICAL]


# ---------------------------------------------------------------- problem 1: e4, a routine call


def test_the_routine_dialect_shebao_call_raises_no_crisis_and_no_self_harm_question(
        calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    live, turns = calls["e4-dialect-shebao"]
    assert shown(turns, PromptKind.CRITICAL) == []
    assert not critical_alerts(live)
    questions = [p.data.question for _, _, p in shown(turns, PromptKind.SAFETY) if isinstance(p.data, SafetyPayload)]
    assert not [q for q in questions if "伤害自己" in q], questions
    assert live.call.crisis.reason is None


@pytest.mark.parametrize("index", [0, 4, 5])  # T2 社保断了仨月…续上不, T10 …逼疯了, T12 死活得把这事办了
def test_each_weak_e4_line_is_at_most_the_general_question(learned: Analyzer, index: int) -> None:
    lines = caller_lines("e4-dialect-shebao")
    ctx = CallContext()
    for line in lines[:index]:
        learned.analyze_final(Role.CALLER, line, ctx)
    a = learned.analyze_final(Role.CALLER, lines[index], ctx)
    assert not a.critical, (lines[index], a.critical_reason, a.scores.get("learned"))
    assert a.safety_question is None or "伤害自己" not in a.safety_question, a.safety_question
    assert not ctx.danger_seen()  # a soft sign: nothing a second one can build on


def test_two_false_weak_signs_never_make_a_card(learned: Analyzer) -> None:
    # the trial's path exactly: T2 then T10, with nothing between
    lines = caller_lines("e4-dialect-shebao")
    ctx = CallContext()
    learned.analyze_final(Role.CALLER, lines[0], ctx)
    assert not learned.analyze_final(Role.CALLER, lines[4], ctx).critical


@pytest.mark.parametrize("text", ["俺俩都快被这事儿逼疯了", "愁死俺了", "急死我了", "死活得把这事办了", "整得俺贼闹心",
                                  "我这社保断了三个月了还能续上吗"])
def test_hyperbole_and_routine_requests_are_not_signs(text: str) -> None:
    signs = WeakSigns.load()
    assert signs.not_a_sign(text)


@pytest.mark.parametrize("text", ["我这几天一直在想一些不好的事", "家里人都不理解我我好累", "大不了一起死",
                                  "以后不用给我回访了再见", "老伴走了以后就我一个人", "社保断了我也不想活了"])
def test_words_with_self_harm_content_keep_their_cue(text: str) -> None:
    signs = WeakSigns.load()
    assert signs.cue(text) and not signs.not_a_sign(text)


def test_a_weak_sign_the_operator_asked_about_is_evidence_for_the_answer() -> None:
    ctx = CallContext()
    ctx.record(UtteranceRecord("焦虑", 0.5, (), None, None, False, (), flagged=True), "u1")
    assert ctx.danger_seen("u3") and not ctx.danger_confirmed("u3")  # a guess, unasked: no evidence
    ctx.safety_asked()  # the operator: 您现在有没有伤害自己的想法?
    assert ctx.danger_confirmed("u3")  # the caller's answer
    assert not ctx.danger_confirmed("u1")  # the sign itself is not its own answer
    rules = CallContext()
    rules.record(UtteranceRecord("绝望", 0.9, (), None, None, False, (), flagged=True, strong=True), "u1")
    assert rules.danger_confirmed("u2")  # despair the rules found: evidence without a question


def test_the_operators_safety_question_is_recorded_for_the_answer(learned: Analyzer) -> None:
    ctx = CallContext()
    learned.analyze(Role.AGENT, "我很关心您想直接问一句您现在有没有伤害自己的打算", ctx)
    ctx.record(UtteranceRecord("焦虑", 0.5, (), None, None, False, (), flagged=True), "u9")
    assert not ctx.danger_confirmed("u10")  # a sign after the question is not answered by it
    learned.analyze(Role.AGENT, "您现在安全吗身边有人吗", ctx)
    assert ctx.danger_confirmed("u10")


def test_the_true_despair_of_e2_still_raises_its_card(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    _, turns = calls["e2-heating-goodbye"]
    cards = [(line, p.data) for line, _, p in shown(turns, PromptKind.CRITICAL) if isinstance(p.data, CriticalPayload)]
    assert cards and "熬不过这个冬天" in cards[0][0]
    assert "12356" in cards[-1][1].referrals
    # an amber question before the card, if any, is on 老伴走了以后就我一个人 (models since stop 20 no longer read
    # loneliness told in a heating complaint as a sign: the eleventh and fifteenth rounds' lonely callers with no
    # danger now); the card itself still comes on 熬不过这个冬天, with 12356
    questions = [(line, p.data.question) for line, _, p in shown(turns, PromptKind.SAFETY)
                 if isinstance(p.data, SafetyPayload)]
    assert all("我一个人" in q[0] for q in questions[:1])


# ---------------------------------------------------------------- problem 3: e3, a toddler at a balcony railing


def test_a_child_at_a_balcony_railing_names_the_fall_and_gives_110_and_119(
        calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    live, turns = calls["e3-balcony-child"]
    cards = critical_cards(turns)
    assert cards and "阳台上站了半天" in cards[0][0]  # T2, on time
    assert all("坠落" in (c.reason or "") and "模型判断" not in (c.reason or "") for _, c in cards), cards
    assert all(set(c.referrals) >= {"110", "119"} for _, c in cards), [c.referrals for _, c in cards]
    assert live.call.crisis.kind == "高处坠落"


@pytest.mark.parametrize("index", [0, 1, 3])  # 小孩一个人在阳台上, 在栏杆边上爬, 一条腿已经跨上去了
def test_each_fall_line_is_a_rules_crisis_with_119(learned: Analyzer, index: int) -> None:
    line = caller_lines("e3-balcony-child")[index]
    a = learned.analyze(Role.CALLER, line)
    assert a.critical and "坠落" in (a.critical_reason or ""), line
    assert {"110", "119"} <= {r.number for r in a.referrals}


def test_the_bystanders_empathy_script_is_not_about_their_own_safety(
        calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    _, turns = calls["e3-balcony-child"]
    cards = [p.data for _, _, p in shown(turns, PromptKind.EMPATHY) if isinstance(p.data, EmpathyPayload)]
    assert cards
    for card in cards:
        text = "".join(card.steps)
        assert "您的安全最要紧" not in text and "您的安全是最重要的" not in text, text
    assert "盯着现场" in cards[-1].steps[0]


# ---------------------------------------------------------------- problem 4: e6, a knife threat against a neighbour


def test_the_knife_threat_names_the_threat_and_keeps_it_when_self_harm_joins(
        calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    live, turns = calls["e6-noise-threat"]
    cards = critical_cards(turns)
    assert cards and "菜刀已经磨好" in cards[0][0]
    assert all("扬言持刀" in (c.reason or "") for _, c in cards), [c.reason for _, c in cards]
    last = cards[-1][1]
    assert "轻生/自伤" in (last.reason or "") and last.referrals == ("110", "12356")  # 大不了一起死 joins
    assert live.call.crisis.kind == "扬言伤人"


def test_the_aggressor_gets_no_victims_script(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    _, turns = calls["e6-noise-threat"]
    crisis = False
    for line, _, events in turns:
        crisis = crisis or "菜刀" in line
        for p in events:
            if crisis and isinstance(p, Prompt) and isinstance(p.data, EmpathyPayload):
                text = "".join(p.data.steps)
                assert "很害怕" not in text and "不方便说话" not in text, text
                assert "不要动手" in text or "伤人" in text or "委屈" in text, text


def test_sleeplessness_alone_raises_no_self_harm_question(calls: dict[str, tuple[LiveAssist, Turn]],
                                                          learned: Analyzer) -> None:
    _, turns = calls["e6-noise-threat"]
    questions = [p.data.question for _, _, p in shown(turns, PromptKind.SAFETY) if isinstance(p.data, SafetyPayload)]
    assert not [q for q in questions if "伤害自己" in q], questions
    a = learned.analyze_final(Role.CALLER, "锦江苑四栋八楼他家是九楼九零一我一个月没睡过整觉了", CallContext())
    assert not a.critical and (a.safety_question is None or "伤害自己" not in a.safety_question)


def test_deescalation_is_not_banned_when_the_caller_threatens_harm(
        calls: dict[str, tuple[LiveAssist, Turn]], learned: Analyzer) -> None:
    live, turns = calls["e6-noise-threat"]
    assert shown(turns, PromptKind.BANNED) == []
    assert not [a for a in live.alerts if a.kind is AlertKind.BANNED]
    # the same words in a routine call, or to a suicidal caller, are still 情绪命令
    assert [h.category for h in learned.analyze(Role.AGENT, "先生请您冷静一下千万不要冲动").banned] == ["情绪命令"]
    ctx = CallContext()
    learned.analyze(Role.CALLER, "我真的不想活了", ctx)
    assert [h.category for h in learned.analyze(Role.AGENT, "请您冷静一下", ctx).banned] == ["情绪命令"]
    ctx = CallContext()
    learned.analyze(Role.CALLER, "我菜刀已经磨好了今晚他再跺一下我就上去砍了他", ctx)
    assert ctx.threat and learned.analyze(Role.AGENT, "请您冷静一下千万不要冲动", ctx).banned == ()
    assert learned.analyze(Role.AGENT, "你有完没完", ctx).banned  # other banned wording still counts
    # only the polite protocol wording: a rude order to calm down is still 情绪命令 (the independent review)
    for rude in ("你给我冷静点", "你冷静一下行不行啊烦不烦"):
        assert "情绪命令" in [h.category for h in learned.analyze(Role.AGENT, rude, ctx).banned], rude


# ---------------------------------------------------------------- problem 9: every crisis kind has its supervisor tag


def _tags() -> list[tuple[re.Pattern[str], str]]:
    js = (Path(__file__).resolve().parents[2] / "assist" / "web" / "static" / "labels.js").read_text(encoding="utf-8")
    block = js[js.index("const CRITICAL_TAGS"):]
    block = block[:block.index("];")]
    return [(re.compile(m.group(1)), m.group(2)) for m in re.finditer(r'\[/([^/]+)/, "([^"]+)"\]', block)]


def _tag(message: str) -> str:
    return next((tag for pattern, tag in _tags() if pattern.search(message)), "")


def test_every_crisis_reason_and_kind_has_a_supervisor_tag(learned: Analyzer) -> None:
    import tomllib

    from assist.nlp.data import DEFAULT_DATA_DIR

    emotion = tomllib.loads((DEFAULT_DATA_DIR / "emotion.toml").read_text(encoding="utf-8"))
    reasons = [c["reason"] for c in emotion["critical"]]
    reasons += [r.critical_reason for r in learned.referrals.rows.values() if r.critical_reason]
    kinds = shipped_kinds()
    reasons += [kinds.model_reason.format(kind=k) for k in learned.referrals.crisis_kinds]
    assert not [r for r in reasons if not _tag(f"危机信号:{r}")], reasons
    assert _tag("危机信号:来电人表达走投无路、撑不下去的绝望情绪,请重点关注并转介心理援助") == "绝望/心理危机"
    assert _tag("危机信号:可能有其他危险风险(模型判断)") == "其他危险"
    assert _tag("危机信号:来电人流露轻生/自伤念头,请立即关注并转介心理援助") == "轻生/自伤"  # unchanged


# ---------------------------------------------------------------- the independent review of the weak-sign filter
# A weak sign is softened (the general question, no first sign), never dropped: these callers at risk say a
# routine word, a goodbye or an idiom, and each still reaches the operator.


def _first_line(learned: Analyzer, text: str) -> tuple[bool, str | None]:
    a = learned.analyze_final(Role.CALLER, text, CallContext())
    return a.critical, a.safety_question


@pytest.mark.parametrize("text", [
    "我想去找我老伴了谢谢你姑娘再见", "我站在江边上社保的事就算了", "我把身份证放在桥边上了",
    "我把房子过户手续都办完了也该走了", "我真的受不了这个家了天天被他打", "哎呀疼死我了肚子疼得要命站不起来",
    "我老公又喝酒了我不敢回家急死了",
])
def test_a_caller_at_risk_who_also_says_a_routine_word_or_an_idiom_still_reaches_the_operator(
        learned: Analyzer, text: str) -> None:
    critical, question = _first_line(learned, text)
    assert critical or question is not None, text


@pytest.mark.parametrize("text", ["肚子疼得要命站不起来", "我真的受不了这个家了", "我身份证办完了", "再见"])
def test_words_of_pain_danger_or_farewell_are_not_hyperbole_or_routine(text: str) -> None:
    assert not WeakSigns.load().not_a_sign(text)


def test_the_operators_own_question_after_a_sign_counts_as_the_safety_question(learned: Analyzer) -> None:
    ctx = CallContext()
    learned.analyze_final(Role.CALLER, "我把房子过户手续都办完了也该走了", ctx, utterance_id="c1")
    assert ctx.danger_seen()
    learned.analyze(Role.AGENT, "大爷您刚才说也该走了是身体不舒服还是心里难受", ctx)
    assert ctx.danger_confirmed("c2")  # the caller's next words answer it
    plain = CallContext()
    learned.analyze(Role.AGENT, "您是要办理过户是吗", plain)  # no sign before: an ordinary question
    assert not plain.danger_confirmed("c2")


def test_a_caller_at_a_railing_who_gives_12356_is_at_risk_of_suicide_not_a_fall() -> None:
    kinds = shipped_kinds()
    assert kinds.of_numbers(("12356", "110", "119"), "我已经翻过栏杆了一条腿跨出去了") == "自伤自杀"
    assert kinds.of_numbers(("110", "119"), "对面楼有个小孩一条腿已经跨上去了") == "高处坠落"


# ---------------------------------------------------------------- the second review: answers and places




@pytest.mark.parametrize("answer", ["有", "嗯", "想过", "是的", "有时候会想", "嗯我想过好几次了", "就是那个意思"])
def test_a_yes_to_the_safety_question_raises_the_card(learned: Analyzer, answer: str) -> None:
    got = crisis_tiers(learned, [("caller", "家里人都不理解我我好累"), ("agent", "您现在有没有伤害自己的打算"),
                          ("caller", answer)])
    assert got[0][1] is not None  # the amber question first
    assert got[1][0], answer  # the answer confirms it: the red card


def test_a_denial_or_no_question_keeps_an_affirmation_from_raising_the_card(learned: Analyzer) -> None:
    denied = crisis_tiers(learned, [("caller", "家里人都不理解我我好累"), ("agent", "您现在有没有伤害自己的打算"),
                             ("caller", "没有没有我就是随口说说")])
    assert not denied[1][0]
    unasked = crisis_tiers(learned, [("caller", "我想问一下社保怎么转移"), ("agent", "好的您说"), ("caller", "嗯")])
    assert not unasked[1][0]  # 嗯 in a routine call is no answer to anything


@pytest.mark.parametrize("text", ["闹心得很我现在在水库边上", "气疯了我在河堤上", "俺快被逼疯了俺想去河里洗洗"])
def test_a_place_of_danger_is_never_hyperbole(learned: Analyzer, text: str) -> None:
    assert not WeakSigns.load().not_a_sign(text)
    a = learned.analyze_final(Role.CALLER, text, CallContext())
    assert a.critical or a.safety_question is not None


def test_a_soft_sign_the_operator_asked_about_is_built_on(learned: Analyzer) -> None:
    got = crisis_tiers(learned, [("caller", "证件你们帮我转交给我闺女吧谢谢"), ("agent", "您现在有没有伤害自己的打算"),
                          ("caller", "反正也没人在乎")])
    assert got[1][0] or got[1][1] is not None
    if got[0][1] is not None:  # the first line raised a (soft) question: the answer with a sign of its own is red
        assert got[1][0]


@pytest.mark.parametrize("question", ["您现在有没有伤害自己的打算", "大爷您现在有没有伤害自己的想法"])
def test_the_safety_question_is_never_a_banned_phrase(learned: Analyzer, question: str) -> None:
    ctx = CallContext()
    learned.analyze_final(Role.CALLER, "家里人都不理解我我好累", ctx)
    assert learned.analyze_final(Role.AGENT, question, ctx).banned == ()


@pytest.mark.parametrize("text", ["我想反映一下我们楼里有个老人", "你好,我想说个事,我们村东头有个小孩"])
def test_a_bare_opener_that_names_a_person_raises_nothing(learned: Analyzer, text: str) -> None:
    """Stop 17: a model put 0.59 (医疗急症 at 0.40) on 我想反映一下我们楼里有个老人, a safety question before the caller
    had said anything; a weak guess on a calm bare opener with no cue is no sign (weak_signs.toml plain_questions)."""
    got = crisis_tiers(learned, [("caller", text)])
    assert got == [(False, None)]
    # a place of danger is no bare opener (the second review: 楼顶上有个人, 桥上有个人)
    for danger in ("我想反映一下楼顶上有个人", "桥上有个人", "水里有个人"):
        assert not WeakSigns.load().plain_question(danger), danger
    # what follows with a cue of its own still is one
    later = crisis_tiers(learned, [("caller", text), ("caller", "她说她不想活了药都准备好了")])
    assert later[1][0]


def test_a_later_model_sign_needs_a_cue_or_an_answered_question_below_the_sure_threshold(learned: Analyzer) -> None:
    # the second review: a routine second line (他儿子不管他低保也停了, 0.86 as 走失) went red once an amber stood
    routine = crisis_tiers(learned, [("caller", "我想反映一下我们楼里有个老人"), ("caller", "他儿子不管他低保也停了")])
    assert not routine[1][0] and routine[1][1] is not None  # asked again, not the red card
    # a later sign with a cue of its own (活着) still raises it
    real = crisis_tiers(learned, [("caller", "家里人都不理解我我好累"), ("caller", "我觉得活着挺累的")])
    assert real[0][1] is not None and real[1][0]
