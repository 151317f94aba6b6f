"""New-user trial 10 (stop 21, docs/nlp-evaluation.md): on a neighbour's report of a child being beaten, the cards
spoke to the victim (锁好门, 不方便说话时您只回答是或不是); the reporter's card and empathy script speak to the
neighbour, while a victim keeps the victim's."""

from __future__ import annotations

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import PromptKind
from assist.protocol.events import Prompt, Transcript
from assist.protocol.payloads import EmpathyPayload, ReferralPayload


def cards(analyzer: Analyzer, lines: list[str]) -> tuple[list[ReferralPayload], list[EmpathyPayload]]:
    live = LiveAssist("ct", "at", analyzer, context_factory=CallContext)
    referral: list[ReferralPayload] = []
    empathy: list[EmpathyPayload] = []
    for i, text in enumerate(lines):
        for event in live.on_transcript(Transcript("ct", "caller", f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)):
            if isinstance(event, Prompt) and event.kind is PromptKind.REFERRAL:
                assert isinstance(event.data, ReferralPayload)
                referral.append(event.data)
            elif isinstance(event, Prompt) and isinstance(event.data, EmpathyPayload):
                empathy.append(event.data)
    return referral, empathy


def test_a_neighbour_hearing_a_child_beaten_gets_the_reporters_cards(analyzer: Analyzer) -> None:
    referral, empathy = cards(analyzer, ["喂 我是住他们家楼上的 楼下那家男的又在打孩子了 打得孩子一直哭着喊救命"])
    police = [d for d in referral if d.number == "110"]
    assert police and "锁好门" not in police[-1].script and "指路" in police[-1].script, police
    steps = empathy[-1].steps
    assert not any("只回答是或不是" in s or "锁好门" in s for s in steps), steps
    assert "谢谢您及时打来电话" in steps[0] and "110" in steps[2], steps


def test_the_victim_of_a_beating_keeps_the_victims_script(analyzer: Analyzer) -> None:
    _, empathy = cards(analyzer, ["他又在打我 我躲在卫生间里 邻居听见我喊救命了"])
    assert empathy and "只回答是或不是" in empathy[-1].steps[0], empathy
