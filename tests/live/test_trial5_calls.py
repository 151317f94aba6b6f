"""The fifth new-user trial's calls word by word through live assist (tests/data/trial5, the trial's own
scripts): a denial after venting clears the amber card instead of raising the red one (problem 1), a
farewell's reason says what was said (2), the operator's 情绪承接 is no banned phrase (3), and reassuring a
caller in a rescue (您先别慌) is no 情绪命令 (17)."""

from __future__ import annotations

from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import AlertKind, PromptAction, PromptKind
from assist.protocol.events import Alert, Prompt
from assist.protocol.payloads import KnowledgePayload
from tests.support.word_replay import DATA, Turn, call_lines, critical_cards, replay_words, shown

TRIAL = DATA / "trial5"


def replay(analyzer: Analyzer, name: str) -> Turn:
    return replay_words(analyzer, name, call_lines(next(TRIAL.glob(f"{name}-*.jsonl"))))[1]


def test_a_denial_after_venting_clears_the_safety_card_and_keeps_the_answer(learned: Analyzer) -> None:
    """g T4c 哎,没事没事,我就是随口一说,就是着急。你就告诉我现在怎么办? after 烦得我都想跳楼了 went red (110 / 12356),
    withdrew the ID-card answer and alerted the supervisor."""
    turns = replay(learned, "g")
    assert critical_cards(turns) == []
    # no crisis alert (model 20261207-708b8478 reads 真是烦死了 as 愤怒 0.88: an anger alert, not a crisis one)
    assert [e for _, _, events in turns for e in events if isinstance(e, Alert) and e.kind == AlertKind.CRITICAL] == []
    denial = [(e.kind, e.action) for line, final, events in turns if final and "随口一说" in line
              for e in events if isinstance(e, Prompt)]
    assert (PromptKind.SAFETY, PromptAction.WITHDRAW) in denial
    gone = [e for _, _, events in turns for e in events if isinstance(e, Prompt)
            and e.kind == PromptKind.KNOWLEDGE and e.action == PromptAction.WITHDRAW]
    assert gone == []
    answers = [p.data.id for _, _, p in shown(turns, PromptKind.KNOWLEDGE) if isinstance(p.data, KnowledgePayload)]
    assert answers and set(answers) == {"idcard-reissue"}


def test_a_farewells_crisis_reason_says_what_was_said(learned: Analyzer) -> None:
    """a T10c 这是我最后一次打电话了,再见了 had the reason "来电人可能正在实施轻生行为(在高处/已服药)"."""
    cards = critical_cards(replay(learned, "a"))
    assert cards
    assert not any("高处" in (c.reason or "") or "服药" in (c.reason or "") for _, c in cards), cards
    last = [c.reason or "" for line, c in cards if "最后一次打电话" in line]
    assert last and "告别" in last[-1]
    first = cards[0][1].reason or ""
    assert "「" in first and any(w in first for w in ("收拾好了", "存折", "操心"))  # what the caller said


def test_the_operators_empathy_is_no_banned_phrase(learned: Analyzer) -> None:
    """a T7a 大爷,听得出来您一个人挺不容易的,您平时身体怎么样? was read as 指责顶撞 (flash, alert, count)."""
    lapses = [line for line, final, _ in shown(replay(learned, "a"), PromptKind.BANNED) if final]
    assert not any("不容易" in line for line in lapses), lapses


def test_reassuring_a_caller_in_a_rescue_is_no_feeling_command(learned: Analyzer) -> None:
    """d T3a 您先别慌,家里现在有几个人? was flagged 情绪命令 over the red card of a flood."""
    lapses = [line for line, final, _ in shown(replay(learned, "d"), PromptKind.BANNED) if final]
    assert not any("别慌" in line for line in lapses), lapses
    routine = learned.analyze("agent", "您先别慌,家里现在有几个人?")  # outside a crisis: still a feeling command
    assert [h.category for h in routine.banned] == ["情绪命令"]

