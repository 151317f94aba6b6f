"""Every payload and server event survives its JSON form: encode, parse the JSON, decode, compare.

A key renamed on one side only (a dataclass field, a hand-written dict) fails here, and so
does a value the wire cannot carry (a float with more decimals than the wire keeps is not
generated: the wire rounds to 3 decimals on purpose).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.protocol import events as ev
from assist.protocol.decode import SERVER_EVENTS, DecodeError, decode, decode_event, decode_payload
from assist.protocol.enums import PromptKind
from assist.protocol.payloads import PAYLOADS, BannedPayload, ReferralPayload, payload_kind


def strategy(tp: object) -> st.SearchStrategy[object]:
    """Values of the annotated type ``tp`` that the wire represents exactly."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of([strategy(a) for a in typing.get_args(tp)])
    if origin is tuple:
        return st.lists(strategy(typing.get_args(tp)[0]), max_size=3).map(tuple)
    if origin is dict:
        key, value = typing.get_args(tp)
        return st.dictionaries(strategy(key), strategy(value), max_size=3)
    if tp is type(None):
        return st.none()
    if tp is str:
        return st.text(max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(10**9), 10**9)
    if tp is float:
        return st.integers(-(10**7), 10**7).map(lambda n: n / 1000)
    if isinstance(tp, type) and issubclass(tp, StrEnum):
        return st.sampled_from(list(tp))
    if tp is ev.Prompt:
        return st.sampled_from(list(PromptKind)).flatmap(prompt_of)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{f.name: strategy(hints[f.name]) for f in dataclasses.fields(tp)})
    raise AssertionError(f"no strategy for {tp!r}")


def prompt_of(kind: PromptKind) -> st.SearchStrategy[object]:
    hints = typing.get_type_hints(ev.Prompt)
    fields = {f.name: strategy(hints[f.name]) for f in dataclasses.fields(ev.Prompt) if f.name not in ("kind", "data")}
    return st.builds(ev.Prompt, kind=st.just(kind), data=strategy(PAYLOADS[kind]), **fields)


def wire(value: ev.Event) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(value.to_json())
    return decoded


@pytest.mark.parametrize("kind", list(PromptKind))
def test_every_payload_round_trips(kind: PromptKind) -> None:
    @given(strategy(PAYLOADS[kind]))
    @settings(max_examples=40, deadline=None)
    def check(payload: object) -> None:
        as_json = json.loads(json.dumps(dataclasses.asdict(payload), ensure_ascii=False))  # type: ignore[call-overload]
        assert decode_payload(kind, as_json) == payload
        assert payload_kind(payload) == kind  # type: ignore[arg-type]

    check()


@pytest.mark.parametrize("cls", list(SERVER_EVENTS.values()), ids=list(SERVER_EVENTS))
def test_every_server_event_round_trips(cls: type[ev.Event]) -> None:
    @given(strategy(cls))
    @settings(max_examples=30, deadline=None)
    def check(event: object) -> None:
        assert isinstance(event, ev.Event)
        assert decode_event(wire(event)) == event

    check()


def test_a_prompt_and_its_payload_must_agree() -> None:
    with pytest.raises(TypeError, match="referral"):
        ev.Prompt("p", "c", "caller", "u", PromptKind.REFERRAL, "show", 1.0, None, BannedPayload("r", "喂", "您好"))


def test_a_renamed_or_missing_key_is_refused() -> None:
    good = wire(ev.Prompt("p", "c", "caller", "u", "referral", "show", 1.0, None,
                          ReferralPayload("12348", "法律援助", "纠纷", "请拨打12348")))
    assert decode_event(good) is not None
    renamed = {**good, "data": {"phone": "12348", "name": "法律援助", "reason": "纠纷", "script": ""}}
    with pytest.raises(DecodeError, match="number"):
        decode_event(renamed)
    with pytest.raises(DecodeError, match="kind"):
        decode_event({**good, "kind": "advice"})
    with pytest.raises(DecodeError, match="role"):
        decode_event({**good, "role": "robot"})


def test_unknown_event_types_and_fields_are_ignored() -> None:
    assert decode_event({"type": "stats", "dropped": 3}) is None
    state = ev.CallState("c", "a", 1.0, True, 2.0, ev.EmotionLevel("平静", 0.0), None, None)
    assert decode(ev.CallState, {**wire(state), "added_later": 1}) == state
