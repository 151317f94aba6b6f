"""The call as the training report reads it (assist/training/call_events.py)."""

from __future__ import annotations

from assist.protocol.enums import Category, PromptAction, PromptKind, Role
from assist.protocol.events import Prompt, Transcript
from assist.protocol.payloads import CategoryPayload
from assist.training.call_events import cards_of, read_call, rounded
from assist.training.rules import TrainingRules


def final(uid: str, role: Role, text: str, start: float) -> Transcript:
    return Transcript("c1", role, uid, True, text, start, start + 2.0, ())


def card(pid: str, uid: str, action: PromptAction, intent: Category, at: float) -> Prompt:
    return Prompt(pid, "c1", Role.CALLER, uid, PromptKind.CATEGORY, action, at, None, CategoryPayload(intent, None))


def test_prompts_count_in_their_last_state_and_withdrawn_ones_drop(rules: TrainingRules) -> None:
    events = [
        final("u1", Role.CALLER, "电梯 坏 了", 5.0),
        card("p1", "u1", PromptAction.SHOW, Category.GENERAL, 7.0),
        card("p1", "u1", PromptAction.UPDATE, Category.COMPLAINT, 7.5),
        final("u2", Role.CALLER, "那 多久", 1.0),
        card("p2", "u2", PromptAction.SHOW, Category.CONSULTATION, 3.0),
        card("p2", "u2", PromptAction.WITHDRAW, Category.CONSULTATION, 3.2),
        card("p3", "gone", PromptAction.SHOW, Category.HELP, 9.0),
    ]
    call = read_call(events, rules)
    assert call.call_id == "c1" and call.utterances["u1"].text == "电梯坏了"
    cards = cards_of(call)
    assert [(c.prompt.prompt_id, c.time) for c in cards] == [("p1", 5.0), ("p3", 9.0)]  # utterance start, else audio
    assert isinstance(cards[0].data, CategoryPayload) and cards[0].data.intent == Category.COMPLAINT


def test_an_emptied_final_withdraws_its_utterance(rules: TrainingRules) -> None:
    call = read_call([final("u1", Role.AGENT, "喂", 0.0), final("u1", Role.AGENT, " ", 0.0)], rules)
    assert call.utterances == {}


def test_times_are_rounded_to_hundredths() -> None:
    assert rounded(1.23456) == 1.23 and rounded(None) is None
