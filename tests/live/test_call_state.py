"""Call-level category and department with hysteresis (assist/live/call_state.py)."""

from __future__ import annotations

from assist.live.call_state import CallTopic, Sticky
from assist.protocol.enums import Category


def test_a_passing_remark_does_not_flip_the_call() -> None:
    topic = CallTopic()
    for intent in (Category.COMPLAINT, Category.COMPLAINT, Category.CONSULTATION, Category.COMPLAINT,
                   Category.GENERAL):
        topic.fold(intent, None, critical=False, upset=0.0, negative_now=False)
        assert topic.category.current == Category.COMPLAINT


def test_a_crisis_pins_the_call_to_help() -> None:
    topic = CallTopic()
    topic.fold(Category.GENERAL, "公安", critical=False, upset=0.0, negative_now=False)
    topic.fold(Category.HELP, "公安", critical=True, upset=0.8, negative_now=True)
    for _ in range(3):
        topic.fold(Category.GENERAL, None, critical=False, upset=0.8, negative_now=True)
    assert topic.category.current == Category.HELP


def test_praise_from_an_upset_caller_is_sarcasm() -> None:
    topic = CallTopic()
    topic.fold(Category.COMPLAINT, "交通", critical=False, upset=0.5, negative_now=True)
    for _ in range(3):
        topic.fold(Category.PRAISE, None, critical=False, upset=0.5, negative_now=False)
    assert topic.category.current == Category.COMPLAINT
    calm = CallTopic()
    calm.fold(Category.PRAISE, None, critical=False, upset=0.0, negative_now=False)
    assert calm.category.current == Category.PRAISE


def test_departments_switch_with_the_same_margin() -> None:
    dept: Sticky[str] = Sticky()
    dept.add("住建")
    dept.add("人社")
    assert dept.current == "住建"
    dept.add("人社")
    assert dept.current == "人社"


def test_follow_up_questions_do_not_turn_a_request_into_a_consultation() -> None:
    """Trial 4, f6: 电梯坏了一个礼拜物业不修 … 那多久能修好 was filed as 咨询."""
    topic = CallTopic()
    for intent in (Category.GENERAL, Category.COMPLAINT, Category.COMPLAINT, Category.CONSULTATION,
                   Category.CONSULTATION, Category.CONSULTATION):
        topic.fold(intent, None, critical=False, upset=0.3, negative_now=False)
    assert topic.category.current == Category.COMPLAINT
    topic.fold(Category.CONSULTATION, None, critical=False, upset=0.0, negative_now=False)
    assert topic.category.current == Category.CONSULTATION  # four questions of the caller's own: a consultation


def test_a_consultation_call_becomes_a_request_at_once() -> None:
    topic = CallTopic()
    topic.fold(Category.CONSULTATION, None, critical=False, upset=0.0, negative_now=False)
    topic.fold(Category.COMPLAINT, None, critical=False, upset=0.0, negative_now=False)
    topic.fold(Category.COMPLAINT, None, critical=False, upset=0.0, negative_now=False)
    assert topic.category.current == Category.COMPLAINT


def test_a_confident_answers_unit_outweighs_another_reading_of_the_words() -> None:
    """Trial 4, f5: 驾驶证快到期了怎么换证, read as 交通's by the model; its knowledge answer is 公安's (车管所)."""
    topic = CallTopic()
    topic.fold(Category.CONSULTATION, "交通", critical=False, upset=0.0, negative_now=False, answer_unit="公安")
    assert topic.department.current == "公安"
    other = CallTopic()  # without the answer the words decide
    other.fold(Category.CONSULTATION, "交通", critical=False, upset=0.0, negative_now=False)
    assert other.department.current == "交通"


def test_a_follow_up_weighs_against_the_requests_together() -> None:
    """New-user trial 10: a noise complaint whose evidence was split between 投诉举报 and 一般诉求 became 咨询 on its
    last line (好 明天晚上要是还吵 我还打): two follow-ups outweighed the faded 投诉举报 alone."""
    topic = CallTopic()
    for intent in (Category.COMPLAINT, None, None, Category.GENERAL, Category.CONSULTATION, Category.CONSULTATION):
        topic.fold(intent, None, critical=False, upset=0.6, negative_now=True)
    assert topic.category.current == Category.COMPLAINT
