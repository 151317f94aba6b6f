"""The fifth new-user trial's calls character by character through live assist (tests/data/trial5, the
trial's own scripts, typed without spaces: the transcript source splits them into characters): suing in a
wage call adds 12348 as a further route and keeps 人社 (problem 5), a gym gone is 12315's with no 12333
(6; its 110 from the learned referral head is not fixed: docs/analysis.md), and a neighbour reporting
someone else's danger gets a reporter's crisis scripts (15)."""

from __future__ import annotations

from assist.live.transcript_source import split_chars
from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import PromptAction, PromptKind
from assist.protocol.events import CallState, Prompt
from assist.protocol.payloads import EmpathyPayload, ReferralPayload
from tests.support.word_replay import DATA, Turn, call_lines, replay_words, shown

TRIAL = DATA / "trial5"


def replay(analyzer: Analyzer, name: str) -> Turn:
    rows = call_lines(next(TRIAL.glob(f"{name}-*.jsonl")))
    for row in rows:
        row["text"] = " ".join(split_chars(str(row["text"])))
    return replay_words(analyzer, name, rows)[1]


def referrals(turns: Turn) -> list[tuple[str, ReferralPayload]]:
    return [(line, p.data) for line, _, p in shown(turns, PromptKind.REFERRAL) if isinstance(p.data, ReferralPayload)]


def test_asking_about_suing_adds_12348_and_keeps_the_wage_matter(learned: Analyzer) -> None:
    turns = replay(learned, "e")  # T6c 我能不能去法院起诉他?要请律师吗: was 司法, 不在12345受理范围
    states = [e.department for _, final, events in turns if final for e in events if isinstance(e, CallState)]
    assert states and all(d == "人社" for d in states[1:]), states
    legal = [d for _, d in referrals(turns) if d.number == "12348"]
    assert legal and all("不在12345受理范围" not in d.reason and "照常" in d.reason for d in legal), legal
    gone = [e for _, _, events in turns for e in events if isinstance(e, Prompt) and e.kind == PromptKind.REFERRAL
            and e.action == PromptAction.WITHDRAW]
    assert gone == []  # 12333 stays
    scripts = [p.data for _, final, p in shown(turns, PromptKind.EMPATHY)
               if final and isinstance(p.data, EmpathyPayload)]
    assert scripts and not any("司法部门" in s for d in scripts for s in d.steps)


def test_a_gym_gone_is_12315s_without_12333(learned: Analyzer) -> None:
    turns = replay(learned, "f")  # T2c 健身房突然关门了,老板也联系不上: 12333 (老板也联系不上) came on top of 12315
    numbers = [d.number for _, d in referrals(turns)]
    assert numbers and numbers[0] == "12315" and "12333" not in numbers, numbers


def test_a_neighbour_reporting_someone_elses_danger_gets_a_reporters_scripts(learned: Analyzer) -> None:
    turns = replay(learned, "b")  # the 110 script said 民警会尽快赶到您身边…告诉我您现在的具体位置
    cards = [d for line, d in referrals(turns) if d.number in ("110", "120")]
    assert {d.number for d in cards} == {"110", "120"}, cards
    for d in cards:
        assert "您身边" not in d.script and "您现在的具体位置" not in d.script, d.script
        assert "三方转接" in d.script and "不要自己进去" in d.script and "附近" in d.script, d.script


def test_water_coming_into_the_flat_is_a_crisis_in_the_rules_words(analyzer: Analyzer) -> None:
    """d T2c 水已经灌进我家里了: the card waited for the learned path at the final, 3 s after the words (problem
    19): the rules, which run on every partial, had 水灌进屋 but not 灌进我家."""
    for words in ("快帮帮我们!雨太大了,水已经灌进我家里了", "水涌进俺们屋了"):
        a = analyzer.analyze("caller", words)
        assert a.critical and [r.number for r in a.referrals][:1] == ["119"], words
