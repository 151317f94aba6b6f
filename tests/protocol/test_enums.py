"""The fixed value sets: the browser labels the same values, data files and fallbacks use them."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

import pytest

from assist.live.session import CallSession
from assist.protocol.enums import (
    NEGATIVE_EMOTIONS,
    AlertKind,
    CallMode,
    Emotion,
    EndReason,
    PromptKind,
    Role,
    Severity,
    Source,
)
from assist.protocol.events import Start

LABELS_JS = Path(__file__).resolve().parents[2] / "assist" / "web" / "static" / "labels.js"


def js_keys(name: str) -> set[str]:
    """Keys of ``export const NAME = { key: "…", … };`` in assist/web/static/labels.js."""
    source = LABELS_JS.read_text(encoding="utf-8")
    match = re.search(rf"export const {name} = \{{(.*?)\}};", source, re.S)
    assert match, f"{name} not found in assist/web/static/labels.js"
    return set(re.findall(r"(\w+):\s*\"", match.group(1)))


def js_strings(name: str) -> list[str]:
    """Strings of ``export const NAME = [...]`` or ``new Set([...])`` in assist/web/static/labels.js."""
    source = LABELS_JS.read_text(encoding="utf-8")
    match = re.search(rf"export const {name} = (?:new Set\()?(\[.*?\])", source, re.S)
    assert match, f"{name} not found in assist/web/static/labels.js"
    strings: list[str] = json.loads(match.group(1))
    return strings


@pytest.mark.parametrize(
    ("name", "enum"),
    [
        ("ROLE_LABEL", Role),
        ("PROMPT_KIND_LABEL", PromptKind),
        ("ALERT_KIND_LABEL", AlertKind),
        ("SEVERITY_LABEL", Severity),
        ("END_REASON_LABEL", EndReason),
        ("MODE_LABEL", CallMode),
    ],
)
def test_browser_labels_cover_exactly_the_enum(name: str, enum: type[Role]) -> None:
    assert js_keys(name) == {m.value for m in enum}


def test_browser_emotions_and_the_negative_ones_match() -> None:
    assert js_strings("EMOTIONS") == [e.value for e in Emotion]
    assert js_strings("NEGATIVE_EMOTIONS") == [e.value for e in NEGATIVE_EMOTIONS]
    assert not Emotion.CALM.negative and not Emotion.SATISFIED.negative


def test_members_are_their_wire_strings() -> None:
    assert Role("caller") is Role.CALLER and Role.CALLER == "caller"
    assert json.dumps({"role": Role.MIXED, "label": Emotion.ANGER}, ensure_ascii=False) == \
        '{"role": "mixed", "label": "愤怒"}'
    assert f"{PromptKind.REFERRAL}:12348" == "referral:12348"
    assert Role.MIXED.is_agent and Role.MIXED.is_caller and not Role.AGENT.is_caller


def test_without_analysis_the_call_emotion_is_calm() -> None:
    """With analysis off nobody provides call state: the fallback emotion must be a known, calm label
    (it was "neutral", which the browser coloured as a negative emotion)."""
    def no_recognizer() -> NoReturn:
        raise AssertionError("a transcript-source call needs no recognizer")

    with ThreadPoolExecutor(1) as executor:
        session = CallSession(Start("c1", "a1", 16000, source=Source.TRANSCRIPT), no_recognizer, executor)
        emotion = session.state().emotion
    assert emotion.label is Emotion.CALM and not emotion.label.negative
