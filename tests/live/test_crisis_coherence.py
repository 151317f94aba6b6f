"""Call-level coherence in a crisis, on the second new-user trial's calls (tests/data/trial2: a flood, a road
accident, a 公积金 call turning suicidal, a whispered domestic-violence call; original CC0 text written for
this project), replayed word by word with partials and the learned path as the overlay saw them: one crisis
kind and reason per call, crisis numbers that stay and lead with the right one, empathy scripts that fit
their label and the danger, the 承办 of the crisis number, no coaching of safety wording on the model's
guess, and one emotion for the live and the stored view."""

from __future__ import annotations

import pytest

from assist.live.crisis import CallCrisis, CrisisReading, Source, shipped_kinds
from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import AlertKind, Emotion, PromptAction, PromptKind
from assist.protocol.events import Alert, Prompt
from assist.protocol.payloads import BannedPayload, EmotionPayload, EmpathyPayload, ReferralPayload
from tests.support.word_replay import DATA, Turn, call_lines, critical_cards, replay_words, shown

TRIAL2 = DATA / "trial2"
CALLS = ["d1-flood", "d2-rider", "d3-gjj-goodbye", "d6-dv-whisper"]


def rows(name: str) -> list[dict[str, object]]:
    return call_lines(TRIAL2 / f"{name}.jsonl")


@pytest.fixture(scope="module")
def calls(learned: Analyzer) -> dict[str, tuple[LiveAssist, Turn]]:
    return {name: replay_words(learned, name, rows(name)) for name in CALLS}


@pytest.mark.parametrize(("name", "kind", "never"), [
    ("d1-flood", "被困", ("自伤自杀", "医疗急症")),  # 我一个人坐在床上呢 is not suicidal
    ("d2-rider", "120", ("暴力", "自伤自杀")),  # 我在这看着他帮他挡一下车 is not violence
    ("d6-dv-whisper", "暴力", ("自伤自杀",)),  # 他好像过来了我不敢说了 is not suicidal
])
def test_the_crisis_reason_keeps_its_kind(calls: dict[str, tuple[LiveAssist, Turn]], name: str, kind: str,
                                          never: tuple[str, ...]) -> None:
    live, turns = calls[name]
    cards = critical_cards(turns)
    assert cards
    reasons = [c.reason or "" for _, c in cards]
    assert not [r for r in reasons if any(word in r for word in never)], reasons
    assert kind in reasons[-1] or (kind == "被困" and live.call.crisis.kind == "被困"), reasons
    alerts = [a.message for _, _, events in turns for a in events if isinstance(a, Alert)
              and a.kind is AlertKind.CRITICAL]
    assert alerts and not [m for m in alerts if any(word in m for word in never)], alerts


def test_a_rules_reason_is_never_replaced_by_the_models_vaguer_one(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    # d6 T6 …他说我敢报警就弄死我: the partial's 通话涉及暴力伤害威胁 stays on the final and after (the trial saw
    # it replaced 0.6 s later by 可能有暴力风险(模型判断))
    _, turns = calls["d6-dv-whisper"]
    reasons = [c.reason or "" for _, c in critical_cards(turns)]
    first = next(i for i, r in enumerate(reasons) if "暴力伤害威胁" in r)
    assert all("暴力伤害威胁" in r for r in reasons[first:]), reasons
    assert all("模型判断" in r for r in reasons[:first])  # before the words, the model's guess was all there was
    # d3: the model's guess gives way to the words of self-harm (same kind, more specific)
    _, gjj = calls["d3-gjj-goodbye"]
    assert "轻生/自伤念头" in (critical_cards(gjj)[-1][1].reason or "")


@pytest.mark.parametrize(("name", "numbers"), [
    ("d1-flood", ("119", "110")),  # rescue first: the caller is trapped by rising water
    ("d2-rider", ("120", "122")),  # an unconscious victim: the ambulance before the traffic police
    ("d3-gjj-goodbye", ("110", "12356")),
    ("d6-dv-whisper", ("110",)),
])
def test_crisis_numbers_lead_with_the_right_one_and_their_cards_stay(
        calls: dict[str, tuple[LiveAssist, Turn]], name: str, numbers: tuple[str, ...]) -> None:
    live, turns = calls[name]
    cards = critical_cards(turns)
    # the card's numbers keep their order; one joins when the call's kind of danger is known (the flood's
    # first red card can come from 119's words alone, after the model's first sign asked the question)
    assert cards and all(c.referrals == numbers[:len(c.referrals)] for _, c in cards), [c.referrals for _, c in cards]
    assert cards[-1][1].referrals == numbers
    assert tuple(live.call.crisis_numbers) == numbers
    withdrawn = [p.data.number for _, _, events in turns for p in events if isinstance(p, Prompt)
                 and p.action == PromptAction.WITHDRAW and isinstance(p.data, ReferralPayload)]
    assert not set(withdrawn) & set(numbers), withdrawn  # 120 (d2), 119 (d1), 12356 (d3) stay to the end


def test_the_flood_call_gets_the_rescue_script_not_the_fire_one(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    _, turns = calls["d1-flood"]
    refs = {p.data.number: p.data for _, _, p in shown(turns, PromptKind.REFERRAL)
            if isinstance(p.data, ReferralPayload)}
    assert "119" in refs and "12356" not in refs and "120" not in refs, sorted(refs)
    assert "燃气" not in refs["119"].script and "火警" not in refs["119"].script
    assert "被困" in refs["119"].reason


@pytest.mark.parametrize("name", CALLS)
def test_the_empathy_script_fits_its_label_and_the_danger(calls: dict[str, tuple[LiveAssist, Turn]],
                                                          name: str) -> None:
    live, turns = calls[name]
    cards = [p.data for _, _, p in shown(turns, PromptKind.EMPATHY) if isinstance(p.data, EmpathyPayload)]
    assert cards
    for card in cards:
        text = "".join(card.steps)
        if card.label != Emotion.ANGER:  # 来电人平静/焦虑 and "我理解您现在非常气愤" contradict each other
            assert "气愤" not in text and "冷静" not in text, (card.label, text)
        assert "伤害自己和他人" not in text or card.label == Emotion.ANGER, (card.label, text)
        if live.call.crisis.kind not in (None, "自伤自杀"):
            assert "12356" not in text and "心理援助" not in text, (card.label, text)  # not to a flood victim


@pytest.mark.parametrize(("name", "department"), [("d1-flood", "应急管理"), ("d2-rider", "卫健"),
                                                  ("d6-dv-whisper", "公安")])
def test_the_handling_unit_follows_the_crisis(calls: dict[str, tuple[LiveAssist, Turn]], name: str,
                                              department: str) -> None:
    live, _ = calls[name]
    assert live.state().department == department


@pytest.mark.parametrize("name", ["d2-rider", "d6-dv-whisper"])
def test_no_learned_banned_warning_for_the_operators_safety_wording_in_a_crisis(
        calls: dict[str, tuple[LiveAssist, Turn]], name: str) -> None:
    # 他现在还有呼吸吗有没有流血 (d2), 您不用说话保持通话就行如果方便就敲一下话筒 (d6): right, not banned
    live, turns = calls[name]
    assert shown(turns, PromptKind.BANNED) == []
    assert not [a for a in live.alerts if a.kind is AlertKind.BANNED]
    assert live.state().warnings == 0


def test_a_rules_banned_phrase_is_still_flagged_in_a_crisis_with_the_calls_numbers(learned: Analyzer) -> None:
    script = rows("d1-flood")[:5]
    script.append({"role": "agent", "start": 36.0, "end": 38.0, "text": "你 有 完 没 完"})
    live, turns = replay_words(learned, "d1-flood", script)
    banned = [p.data for _, _, p in shown(turns, PromptKind.BANNED) if isinstance(p.data, BannedPayload)]
    assert [b.rule for b in banned] == ["impatient"]
    live_numbers = "/".join(live.call.crisis_numbers)
    assert "119" in banned[0].suggestion and live_numbers in banned[0].suggestion  # the call's own numbers


@pytest.mark.parametrize("name", CALLS)
def test_the_stored_emotion_is_the_live_one(calls: dict[str, tuple[LiveAssist, Turn]], name: str) -> None:
    # a stored call's meter reads its newest emotion card (call-view.js _refreshEmotion); live, call_state
    live, turns = calls[name]
    latest: dict[str, EmotionPayload] = {}
    order: list[str] = []
    for _, _, events in turns:
        for p in events:
            if isinstance(p, Prompt) and isinstance(p.data, EmotionPayload):
                if p.action == PromptAction.WITHDRAW:
                    latest.pop(p.prompt_id, None)
                    continue
                latest[p.prompt_id] = p.data
                if p.prompt_id not in order:
                    order.append(p.prompt_id)
    newest = [latest[pid] for pid in order if pid in latest][-1]
    state = live.state().emotion
    assert (newest.label, newest.intensity) == (state.label, state.intensity), (newest, state)


def test_the_calls_crisis_reading_policy(learned: Analyzer) -> None:
    crisis = CallCrisis(shipped_kinds(), learned.referrals)
    guess = CrisisReading("可能有自伤自杀风险(模型判断)", "自伤自杀", Source.MODEL, ("110", "12356"), frozenset())
    assert crisis.take(guess) and crisis.card(guess) == ("110", "12356")
    trapped = CrisisReading("火情、燃气泄漏、被困或落水等紧急险情(119)", "被困", Source.RULES, ("119",),
                            frozenset({"119"}), frozenset({"119"}))
    assert crisis.take(trapped)  # words of another kind replace the model's guess
    assert crisis.card(trapped) == ("119", "110")  # the guess's 12356 leaves; the kind's numbers lead
    other = CrisisReading("可能有医疗急症风险(模型判断)", "医疗急症", Source.MODEL, ("120",), frozenset())
    assert not crisis.take(other) and crisis.kind == "被困" and crisis.card(other) == ("119", "110")
    violence = CrisisReading("通话涉及暴力伤害威胁,请立即关注,必要时报警", "暴力", Source.RULES, ("110",),
                             frozenset({"110"}), frozenset({"110"}))
    assert crisis.take(violence) and crisis.kind == "暴力"  # a stronger, specific reason of another kind
    # the danger of words it replaced keeps its reason beside the new one, as it keeps its numbers (trial 10)
    assert crisis.reason == f"{trapped.reason};{violence.reason}", crisis.reason
    assert crisis.card(violence)[0] == "110"


def test_the_same_utterance_may_revise_its_own_guess_another_may_not(learned: Analyzer) -> None:
    """A partial's model guess (其他危险 on 我们这下大雨了水有点上来…) is revised by the same utterance's
    final (被困); a guess of another utterance never replaces the call's kind."""
    crisis = CallCrisis(shipped_kinds(), learned.referrals)
    partial = CrisisReading("可能有其他危险风险(模型判断)", "其他危险", Source.MODEL, ("110",), frozenset())
    final = CrisisReading("可能有被困风险(模型判断)", "被困", Source.MODEL, ("119", "110"), frozenset())
    other = CrisisReading("可能有医疗急症风险(模型判断)", "医疗急症", Source.MODEL, ("120",), frozenset())
    assert crisis.take(partial, "u1") and crisis.kind == "其他危险"
    assert crisis.take(final, "u1") and crisis.kind == "被困"
    assert not crisis.take(other, "u2") and crisis.kind == "被困"


def test_a_model_crisis_quotes_the_words_heard_in_its_last_two_utterances(learned: Analyzer) -> None:
    """Trial 4, f1: "可能有自伤自杀风险(模型判断)" named nothing the caller said, and stayed so."""
    crisis = CallCrisis(shipped_kinds(), learned.referrals)

    def guess(heard: str) -> CrisisReading:
        return CrisisReading("可能有自伤自杀风险(模型判断)", "自伤自杀", Source.MODEL, ("12356",), frozenset(),
                             heard=heard)

    crisis.take(guess("存折密码我都交代好了"), "u1")
    assert crisis.card_reason == "可能有自伤自杀风险(模型判断):「存折密码我都交代好了」"
    crisis.take(guess(""), "u2")  # 嗯: nothing to quote
    crisis.take(guess("想过好几回"), "u3")
    crisis.take(guess("想过好几回了家里就我一个人"), "u3")  # the same utterance's final replaces its partial
    crisis.take(guess("我就是累了"), "u4")
    assert crisis.card_reason == "可能有自伤自杀风险(模型判断):「想过好几回了家里就我一个人」「我就是累了」"
    rules = CrisisReading("来电人明确表达轻生意图", "自伤自杀", Source.RULES, ("12356",), frozenset())
    crisis.take(rules, "u5")
    assert crisis.card_reason == "来电人明确表达轻生意图"  # words of the rules need no quote
