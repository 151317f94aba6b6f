"""The memory of recently ended calls (assist/live/resumption.py ``ResumeBook``): resume points and last states in one
book, bounded by count and by age."""

from __future__ import annotations

from assist.live.resumption import ResumeBook, ResumePoint, RolePoint
from assist.protocol.enums import CallMode
from assist.protocol.events import CallState, EmotionLevel


def _state(call_id: str, critical: bool = False) -> CallState:
    return CallState(call_id, "a1", 0.0, False, 30.0, EmotionLevel("平静", 0.0), None, None, critical=critical,
                     crisis_numbers=("110",) if critical else ())


def _point(index: int = 3) -> ResumePoint:
    return ResumePoint("a1", CallMode.LIVE, {"caller": RolePoint(next_index=index)})


def test_an_ended_call_keeps_its_point_and_its_last_state() -> None:
    book = ResumeBook()
    book.remember("c1", _point(), _state("c1", critical=True))
    book.remember("c2", _point(5))  # ended without a state
    assert book.get("c1") == _point() and book.state("c1") == _state("c1", critical=True)
    assert book.get("c2") == _point(5) and book.state("c2") is None
    assert [s.call_id for s in book.states()] == ["c1"] and book.state("nope") is None


def test_the_call_that_ended_last_comes_last_even_when_remembered_again() -> None:
    book = ResumeBook()
    for call_id in ("c1", "c2", "c3"):
        book.remember(call_id, _point(), _state(call_id))
    book.remember("c1", _point(), _state("c1", critical=True))
    assert [s.call_id for s in book.states()] == ["c2", "c3", "c1"] and book.states()[-1].critical


def test_the_book_is_bounded_by_count_and_by_age() -> None:
    now = [0.0]
    book = ResumeBook(max_calls=2, max_age=60.0, clock=lambda: now[0])
    for call_id in ("c1", "c2", "c3"):
        book.remember(call_id, _point(), _state(call_id))
    assert len(book) == 2 and book.get("c1") is None and book.state("c1") is None
    now[0] = 61.0  # older than max_age: neither shown on an overlay reopened now nor resumed
    assert book.states() == [] and book.get("c3") is None and len(book) == 0
