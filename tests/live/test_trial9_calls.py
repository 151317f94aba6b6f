"""New-user trial 9 (stop 20, docs/nlp-evaluation.md): a domestic-violence pin read 110's generic reason
人身安全正受到威胁或有人走失; the kind's card (crisis_kinds.toml 暴力/110) names the danger, and its script, which
speaks to the person in danger, is not read to a neighbour reporting the beating."""

from __future__ import annotations

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import PromptKind
from assist.protocol.events import Prompt, Transcript
from assist.protocol.payloads import CriticalPayload, ReferralPayload


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
