"""Call-level coherence on the new-user trial's five calls (tests/data/trial, replayed word by word with
partials and the learned path, as the overlay saw them): crisis numbers, scripts, number order, badges
on filler turns, the empathy card's step, the safety card after a denial, matter hotlines and
knowledge cards on partials."""

from __future__ import annotations

import itertools

import pytest

from assist.live.call_state import Answer, CallKnowledge
from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import Category, PromptAction, PromptKind, Role
from assist.protocol.events import CallState, Prompt
from assist.protocol.payloads import (
    CategoryPayload,
    CriticalPayload,
    EmpathyPayload,
    KnowledgePayload,
    ReferralPayload,
    SafetyPayload,
)
from tests.support.word_replay import DATA, Turn, call_lines, replay_words, shown

TRIAL = DATA / "trial"
EMERGENCY = {"110", "119", "120", "122", "12356"}


def lines(name: str) -> list[dict[str, object]]:
    return call_lines(TRIAL / f"{name}.jsonl")


def replay(analyzer: Analyzer, name: str, upto: int | None = None,
           rows: list[dict[str, object]] | None = None) -> tuple[LiveAssist, Turn]:
    """The call's lines (or ``rows``) word by word (tests/support/word_replay.py)."""
    return replay_words(analyzer, name, (lines(name) if rows is None else rows)[:upto])


def test_crisis_card_names_emergency_numbers_only(learned: Analyzer) -> None:
    # 我想问问我的社保怎么停掉反正以后也用不着了: 12333 (社保) is a matter hotline, not for the crisis card
    _, turns = replay(learned, "c1-roof")
    cards = [p.data for _, _, p in shown(turns, PromptKind.CRITICAL) if isinstance(p.data, CriticalPayload)]
    assert cards and all(set(c.referrals) <= EMERGENCY for c in cards), [c.referrals for c in cards]
    assert all(c.referrals for c in cards)


def test_numbers_are_described_by_their_own_wording(learned: Analyzer) -> None:
    _, turns = replay(learned, "c1-roof")
    empathy = [p.data for _, _, p in shown(turns, PromptKind.EMPATHY) if isinstance(p.data, EmpathyPayload)]
    said = " ".join(s for e in empathy for s in e.steps)
    assert "110心理援助热线" not in said and "12356心理援助热线" in said
    refs = {p.data.number: p.data for _, _, p in shown(turns, PromptKind.REFERRAL)
            if isinstance(p.data, ReferralPayload)}
    assert "110" in refs and "治安" not in refs["110"].script and "刑事" not in refs["110"].script


@pytest.mark.parametrize("name", ["c1-roof", "c1b-amber"])
def test_crisis_numbers_keep_their_order_once_shown(learned: Analyzer, name: str) -> None:
    _, turns = replay(learned, name)
    lists = [p.data.referrals for _, _, p in shown(turns, PromptKind.CRITICAL) if isinstance(p.data, CriticalPayload)]
    assert lists
    for before, after in itertools.pairwise(lists):
        assert after[: len(before)] == before, lists  # never reordered; new numbers are appended
    assert set(lists[-1][:2]) == {"110", "12356"}


def test_the_numbers_said_lead_the_crisis_card(learned: Analyzer) -> None:
    # bleeding: the ambulance first (the analysis's order), not 110 by the table's row order (review)
    rows = [{"role": "caller", "start": 0.0, "end": 3.0, "text": "我割腕了流了好多血"}]  # the final alone
    _, turns = replay(learned, "bleeding", rows=rows)
    lists = [p.data.referrals for _, _, p in shown(turns, PromptKind.CRITICAL)
             if isinstance(p.data, CriticalPayload) and p.data.referrals]
    assert lists and lists[0][:2] == ("120", "110"), lists


# c4: a leak the property manager ignores, then 我要投诉你 at the operator: the matter's 一般诉求 or a complaint
# about the property manager are both fair readings (model 20261207-72ede1d5 keeps 一般诉求); the badge must
# settle on one and stay there
@pytest.mark.parametrize(("name", "categories", "department"), [
    ("c4-angry", {Category.COMPLAINT, Category.GENERAL}, "住建"), ("c2-wages", {Category.COMPLAINT}, "人社")])
def test_filler_turns_move_neither_badge_and_the_stored_category_is_the_shown_one(
    learned: Analyzer, name: str, categories: set[Category], department: str
) -> None:
    live, turns = replay(learned, name)
    states = [(e.intent, e.department) for _, final, events in turns for e in events if isinstance(e, CallState)
              and e.intent is not None and e.department is not None]
    category = live.state().intent
    assert category in categories and live.state().department == department, states
    first = states.index((category, department))
    assert set(states[first:]) == {(category, department)}, states  # 哼那你说怎么办 / 行那我等你们电话谢谢啊
    hints = [p.data for _, _, p in shown(turns, PromptKind.CATEGORY) if isinstance(p.data, CategoryPayload)]
    assert hints[-1].intent == live.state().intent  # a stored call's badge (its last category card) agrees


def test_empathy_card_moves_on_only_when_the_operator_did_the_step(learned: Analyzer) -> None:
    _, turns = replay(learned, "c4-angry")
    moves = [(line, p.data.stage) for line, _, p in shown(turns, PromptKind.EMPATHY)
             if isinstance(p.data, EmpathyPayload)]
    assert moves[0][1] == 0
    by_line = dict(moves)
    assert "这个是物业的事这不归我们管你找物业去" not in by_line  # pushing the caller away does no step
    assert by_line["非常抱歉刚才是我说得不对我理解您的心情换作是我也会很着急"] == 2  # 情绪承接 and 责任表态 done
    # c2: the caller's thank-you does not bring the card back to 情绪承接
    _, wages = replay(learned, "c2-wages")
    stages = [p.data.stage for _, _, p in shown(wages, PromptKind.EMPATHY)
              if isinstance(p.data, EmpathyPayload) and p.data.label == "愤怒"]
    assert stages == sorted(stages) and stages[-1] == 2, stages


def _after_the_question(learned: Analyzer, answer: str) -> tuple[list[Prompt], list[Prompt]]:
    """c1b up to the operator's safety question, then the caller's ``answer``: (safety prompts before
    the answer, prompts of the answer's final)."""
    rows = [*lines("c1b-amber")[:5], {"role": "caller", "start": 32.8, "end": 36.8, "text": answer}]
    _, turns = replay(learned, "c1b-amber", rows=rows)
    before = [p for line, _, events in turns if line != answer.replace(" ", "") for p in events
              if isinstance(p, Prompt) and p.kind == PromptKind.SAFETY]
    said = [e for line, final, events in turns if final and line == answer.replace(" ", "") for e in events
            if isinstance(e, Prompt)]
    return before, said


def test_a_denial_after_the_safety_question_withdraws_the_amber_card(learned: Analyzer) -> None:
    before, denial = _after_the_question(learned, "没有 没有 我 就是 问问")
    assert before and isinstance(before[0].data, SafetyPayload)
    assert [(p.kind, p.action) for p in denial if p.kind == PromptKind.SAFETY] == [(PromptKind.SAFETY,
                                                                                    PromptAction.WITHDRAW)]
    assert not [p for p in denial if p.kind == PromptKind.REFERRAL and p.action == PromptAction.SHOW]


@pytest.mark.parametrize("answer", [
    "没有 啊 就是 家里 人 都 不 理解 我 我 好 累",  # a denial that goes on with more trouble (review)
    "没有 没有 我 在 家 呢 就是 最近 加班 太 多 想 歇 一阵",  # where the caller is answers 您在什么地方
])
def test_an_answer_that_says_more_than_a_denial_keeps_the_question_up(learned: Analyzer, answer: str) -> None:
    before, said = _after_the_question(learned, answer)
    assert before
    safety = [p.action for p in said if p.kind == PromptKind.SAFETY]
    # the question stays up: not withdrawn, or raised again by the answer's own sign, or turned into the crisis card
    # (model 20261207-74ce4705 raises the red card on 没有啊就是家里人都不理解我我好累 after the question)
    red = any(p.kind == PromptKind.CRITICAL and p.action == PromptAction.SHOW for p in said)
    assert PromptAction.WITHDRAW not in safety or PromptAction.SHOW in safety or red, safety


def test_matter_hotline_follows_the_calls_matter(learned: Analyzer) -> None:
    # a wage-arrears complaint (人社): 真是气死我了 does not make it a consumer dispute (12315)
    _, turns = replay(learned, "c2-wages")
    numbers = [p.data.number for _, _, p in shown(turns, PromptKind.REFERRAL) if isinstance(p.data, ReferralPayload)]
    assert "12333" in numbers and "12315" not in numbers


def test_no_weak_knowledge_guess_on_partials_nor_on_a_critical_utterance(learned: Analyzer) -> None:
    _, turns = replay(learned, "c3-neighbour", upto=2)  # 快快我邻居家的老大爷倒在楼道里了…
    assert shown(turns, PromptKind.CRITICAL)
    assert shown(turns, PromptKind.KNOWLEDGE) == []
    _, angry = replay(learned, "c4-angry")
    kb = [(final, p.data.score) for _, final, p in shown(angry, PromptKind.KNOWLEDGE)
          if isinstance(p.data, KnowledgePayload)]
    assert kb and all(score >= 0.4 for final, score in kb if not final), kb  # no 28 % flicker over 83 %


def test_partial_knowledge_answer_never_replaces_a_stronger_one() -> None:
    kb = CallKnowledge()
    kb.adopt(Answer("water", 0.83, "水务"))
    weak = Answer("property", 0.28, "住建")
    assert not kb.better(weak, "住建", partial=True)
    assert not kb.better(Answer("property", 0.6, "住建"), "住建", partial=True)
    assert kb.better(Answer("property", 0.6, "住建"), "住建")  # the final: the call moved to 住建's matter


def test_a_routine_question_after_a_soft_sign_makes_no_answer(learned: Analyzer) -> None:
    """A soft sign (a model guess on routine words, 公积金销户要怎么办) is asked about only by a safety question:
    the operator's 请问您是离职了还是要离开本市 had made the caller's next line an answer, and that answer (就是太累了
    什么都不想弄了) the red card."""
    ctx = CallContext()
    lines = [(Role.CALLER, "我想咨询一下公积金销户要怎么办"), (Role.AGENT, "好的请问您是离职了还是要离开本市"),
             (Role.CALLER, "嗯就是太累了什么都不想弄了")]
    out = [learned.analyze_final(role, text, ctx, utterance_id=f"u{i}") for i, (role, text) in enumerate(lines)]
    assert not out[2].critical and out[2].safety_question is not None
