"""On one mixed (mono) channel, the operator reading aloud the safety question or the crisis card's script
does not raise another safety or crisis card (assist/live/echo.py), with the real learned pipeline."""

from __future__ import annotations

import pytest

from assist.live.echo import SuggestedLines, echoes, infix_distance, letters
from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import AlertKind, PromptAction, PromptKind, Role
from assist.protocol.events import Alert, Event, Prompt, Transcript
from assist.protocol.payloads import CriticalPayload, EmpathyPayload, SafetyPayload

UNEASY = "家里 人 都 不 理解 我 我 好 累"  # the learned net's weak sign: the amber safety card
DARK = "我 这 几天 一直 在 想 一些 不好 的 事"  # the caller confirms: the crisis card
RISKY = (PromptKind.SAFETY, PromptKind.CRITICAL)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.load(learned=True)  # as `assist serve` loads it


class MonoCall:
    """One mono call through live assist as the pipeline runs it: partials on the rules, finals with the
    learned path first."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.live = LiveAssist("mono", "a1", analyzer, context_factory=CallContext)
        self.count = 0
        self.clock = 0.0

    def say(self, text: str) -> list[Event]:
        uid = f"mixed-{self.count}"
        self.count += 1
        words = text.split()
        start, end = self.clock, self.clock + 0.3 * len(words)
        self.clock = end + 0.5
        out: list[Event] = []
        for n in range(2, len(words), 3):  # growing partials, as the recogniser gives them
            out.extend(self.live.on_transcript(Transcript("mono", "mixed", uid, False, " ".join(words[:n]), start,
                                                          start + 0.3 * n)))
        final = Transcript("mono", "mixed", uid, True, text, start, end)
        out.extend(self.live.on_transcript(final, self.live.learned_for(final)))
        return out


def read_aloud(wording: str) -> str:
    """A suggested wording as the recogniser hears it: words split up, no punctuation, one slip."""
    chars = letters(wording)
    slip = len(chars) // 2
    chars = chars[:slip] + "嗯" + chars[slip + 1:]
    return " ".join(chars[i:i + 2] for i in range(0, len(chars), 2))


def shown(events: list[Event], *kinds: PromptKind) -> list[Prompt]:
    return [e for e in events if isinstance(e, Prompt) and e.kind in kinds and e.action != PromptAction.WITHDRAW]


def critical_alerts(events: list[Event]) -> list[Alert]:
    return [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.CRITICAL]


def test_reading_the_safety_question_and_the_crisis_script_raises_nothing_new(analyzer: Analyzer) -> None:
    call = MonoCall(analyzer)
    call.say("您好 市长 热线 请问 有 什么 可以 帮 您")
    [card] = shown(call.say(UNEASY), PromptKind.SAFETY)
    assert isinstance(card.data, SafetyPayload)
    question = card.data.question
    # read aloud without the guard (a fresh call: nothing suggested yet), the question raises a card of its own
    assert shown(MonoCall(analyzer).say(read_aloud(question)), *RISKY)
    # ... but on this call it is the operator's words: no new card, and the question still waits for the answer
    asked = call.say(read_aloud(question))
    assert shown(asked, *RISKY) == [] and critical_alerts(asked) == []
    assert not [e for e in asked if isinstance(e, Prompt) and e.prompt_id == card.prompt_id]
    # the caller's answer is still the caller's: it confirms the danger, and the crisis card takes over
    answer = call.say(DARK)
    [crisis] = shown(answer, PromptKind.CRITICAL)
    assert [e.action for e in answer if isinstance(e, Prompt) and e.prompt_id == card.prompt_id] == ["withdraw"]
    assert critical_alerts(answer) and call.live.critical
    scripts = [e.data for e in shown(answer, PromptKind.EMPATHY) if isinstance(e.data, EmpathyPayload)]
    assert scripts, "the crisis card comes with the crisis empathy script"
    step = scripts[-1].steps[0]
    assert shown(MonoCall(analyzer).say(read_aloud(step)), *RISKY)  # alone, it raises a card
    read = call.say(read_aloud(step))
    assert shown(read, *RISKY) == [] and critical_alerts(read) == []
    assert crisis.prompt_id not in {e.prompt_id for e in read if isinstance(e, Prompt)}


def test_the_question_with_the_callers_words_run_on_keeps_the_callers_analysis(analyzer: Analyzer) -> None:
    call = MonoCall(analyzer)
    [card] = shown(call.say(UNEASY), PromptKind.SAFETY)
    assert isinstance(card.data, SafetyPayload)
    both = call.say(read_aloud(card.data.question) + " 有 我 这 几天 一直 在 想 一些 不好 的 事")
    assert shown(both, PromptKind.CRITICAL)  # a missed crisis costs more than a repeated card


def test_only_the_mixed_channel_is_read_for_echoes() -> None:
    lines = SuggestedLines()
    lines.note(SafetyPayload("冒昧问一句:您现在安全吗?身边有人吗?", None, ()))
    assert lines.voice(Role.MIXED, "您 现在 安全 吗") is Role.AGENT
    assert lines.voice(Role.CALLER, "您 现在 安全 吗") is Role.CALLER  # the caller's own channel is the caller's
    assert lines.voice(Role.MIXED, "我 现在 很 不 安全") is Role.MIXED
    assert lines.voice(Role.MIXED, "好的") is Role.MIXED  # too short to be a reading
    # 现场指导 read out is the operator's too (the review of stop 15: it was analysed as the caller's words)
    lines.note(CriticalPayload("有人急症或重伤,需立即医疗急救", ("120",),
                               ("先看看他还有没有呼吸;摔伤、车祸的伤员不要随意搬动",)))
    assert lines.voice(Role.MIXED, "您 先 看看 他 还 有没有 呼吸") is Role.AGENT


@pytest.mark.parametrize(("said", "line", "expected"), [
    ("您现在安全吗", "冒昧问一句您现在安全吗身边有人吗", True),  # one clause
    ("冒昧问一句您现在安全吗身边有人吗", "冒昧问一句您现在安全吗身边有人吗", True),  # the whole line
    ("那个冒昧问一句您现在安全吗身边有没有人啊", "冒昧问一句您现在安全吗身边有人吗", True),  # more or less
    ("冒昧问一据您现在安全马身边有人吗", "冒昧问一句您现在安全吗身边有人吗", True),  # recogniser slips
    ("我现在很安全", "冒昧问一句您现在安全吗身边有人吗", False),
    ("您现在安全吗我不想活了我在桥上", "冒昧问一句您现在安全吗", False),  # the caller's words run on
    ("身边", "冒昧问一句您现在安全吗身边有人吗", False),  # too short
    # the caller answering in the card's own words (review): short pieces without 您, first person
    ("现在不安全", "冒昧问一句您现在安全吗身边有人吗", False),
    ("对方还在身边", "冒昧问一句对方现在还在您身边吗您现在安全吗", False),
    ("我正在遭受暴力", "正在遭受暴力时请立即拨打110", False),
    ("我现在有伤害自己的打算", "我很关心您想直接问一句您现在有没有伤害自己的打算您在什么地方", False),
])
def test_echo_measure(said: str, line: str, expected: bool) -> None:
    assert echoes(said, line) is expected


def test_infix_distance_is_the_best_substring() -> None:
    assert infix_distance("安全吗", "您现在安全吗身边") == 0
    assert infix_distance("安全马", "您现在安全吗身边") == 1
    assert infix_distance("", "abc") == 0
