"""New-user trial 9 (stop 20, docs/nlp-evaluation.md): a domestic-violence pin read 110's generic reason
人身安全正受到威胁或有人走失; the kind's card (crisis_kinds.toml 暴力/110) names the danger, and its script, which
speaks to the person in danger, is not read to a neighbour reporting the beating."""

from __future__ import annotations

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import PromptKind
from assist.protocol.events import CallState, Prompt, Transcript
from assist.protocol.payloads import CriticalPayload, KnowledgePayload, ReferralPayload
from tests.support.word_replay import replay_words, shown


def cards(analyzer: Analyzer, lines: list[str]) -> tuple[list[CriticalPayload], list[ReferralPayload]]:
    live = LiveAssist("c9", "a9", analyzer, context_factory=CallContext)
    crisis: list[CriticalPayload] = []
    referral: list[ReferralPayload] = []
    for i, text in enumerate(lines):
        for event in live.on_transcript(Transcript("c9", "caller", f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)):
            if isinstance(event, Prompt) and isinstance(event.data, CriticalPayload):
                crisis.append(event.data)
            elif isinstance(event, Prompt) and event.kind is PromptKind.REFERRAL:
                assert isinstance(event.data, ReferralPayload)
                referral.append(event.data)
    return crisis, referral


def test_a_beaten_wife_gets_a_violence_reason_and_is_told_to_get_safe(analyzer: Analyzer) -> None:
    crisis, referral = cards(analyzer, ["我老公又动手了 他喝了酒在砸门 我躲在卫生间里"])
    assert crisis and "走失" not in (crisis[-1].reason or "") and "人身安全" in (crisis[-1].reason or ""), crisis
    police = [d for d in referral if d.number == "110"]
    assert police and "锁好门" in police[-1].script, police


def test_a_neighbour_reporting_a_beating_gets_the_reporters_script(analyzer: Analyzer) -> None:
    _, referral = cards(analyzer, ["对门住着一对小夫妻", "对门那家男的又在打他老婆 砸东西 女的一直喊救命"])
    police = [d for d in referral if d.number == "110"]
    assert police and "锁好门" not in police[-1].script and "附近" in police[-1].script, police


def test_a_school_question_in_a_pension_call_moves_the_unit_and_gets_its_answer(learned: Analyzer) -> None:
    """Trial 9: the school-enrolment question asked after a pension answer kept 人社 and got no school answer."""
    rows: list[dict[str, object]] = [
        {"role": "caller", "start": 0, "end": 4, "text": "喂 你好 我想问一下 我妈 的 养老金 今年 涨 了 没有"},
        {"role": "agent", "start": 5, "end": 9,
         "text": "阿姨 您好 养老金 调整 一般 年中 发文 一月 一号 起 执行 会 一次性 补发"},
        {"role": "caller", "start": 10, "end": 14,
         "text": "好的 还有 个 事 我 孙子 明年 上 小学 我们 是 外地 户口 随迁子女 入学 要 准备 什么 材料"},
    ]
    _, turns = replay_words(learned, "t9s", rows)
    units = [e.department for _, final, events in turns if final for e in events if isinstance(e, CallState)]
    assert units and units[-1] == "教育", units
    answers = [p.data.id for _, final, p in shown(turns, PromptKind.KNOWLEDGE)
               if final and isinstance(p.data, KnowledgePayload)]
    assert answers[:1] == ["pension-adjustment"] and answers[-1] == "school-enrollment", answers


def test_a_beaten_wife_who_names_a_neighbour_is_no_reporter(analyzer: Analyzer) -> None:
    """The review of stop 21: 隔壁阿姨 made the victim a bystander, told to wait nearby and guide the police."""
    _, referral = cards(analyzer, ["我老公喝醉了在打我 隔壁阿姨过来敲门了 他还在打"])
    police = [d for d in referral if d.number == "110"]
    assert police and "锁好门" in police[-1].script, police


def test_a_victim_stays_a_victim_when_a_neighbour_came_first(analyzer: Analyzer) -> None:
    """The focused review of stop 21: the reporter flag stuck for the call while the veto was per line."""
    _, referral = cards(analyzer, ["隔壁阿姨过来敲门了", "我老公喝醉了在打我 他拿刀了"])
    police = [d for d in referral if d.number == "110"]
    assert police and "锁好门" in police[-1].script, police


def test_one_reason_per_danger_of_110(analyzer: Analyzer) -> None:
    """New-user trials 9 and 10: 110's generic reason read 人身安全正受到威胁或有人走失 on any danger, and the report
    named both kinds from it; a missing person's reason is crisis_kinds.toml 走失/110's, with 110's own script."""
    crisis, referral = cards(analyzer, ["我妈走丢了 有老年痴呆 早上出门到现在没回来"])
    assert crisis and (crisis[-1].reason or "").startswith("有人走失"), crisis
    police = [d for d in referral if d.number == "110"]
    assert police and police[-1].script, police
    crisis, _ = cards(analyzer, ["救命啊 快来人"])
    assert crisis and "走失" not in (crisis[-1].reason or ""), crisis
