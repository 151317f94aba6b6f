"""The analyzer meets the issue's accuracy targets on the labelled sets (typed and recognizer-style).

Same figures as ``python -m bench.nlp_eval`` (speed is measured by the bench only).  Run
``python -m bench.nlp_eval --errors`` to see which items fail.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bench.nlp_evaluation import (
    ACCURACY_TARGETS,
    ASR,
    TYPED,
    Report,
    Target,
    check_targets,
    evaluate,
    load_agent_cases,
    load_caller_cases,
    load_kb_cases,
)

DATA = Path(__file__).resolve().parent.parent / "data"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("assist.nlp.analyzer") is None,
    reason="assist/nlp/analyzer.py (the analysis engine) does not exist yet",
)


@pytest.fixture(scope="module")
def report() -> Report:
    from assist.nlp.analyzer import Analyzer
    from assist.nlp.asrstyle import RecognizerStyler

    paraphrases = DATA / "kb_paraphrases.jsonl"
    return evaluate(
        Analyzer.load(),
        load_caller_cases(DATA / "nlp_eval" / "caller.jsonl"),
        load_agent_cases(DATA / "nlp_eval" / "agent.jsonl"),
        load_kb_cases(paraphrases) if paraphrases.exists() else None,
        {TYPED: lambda s: s, ASR: RecognizerStyler()},
        warmup=0,  # speed is not asserted here
    )


@pytest.fixture(scope="module")
def targets(report: Report) -> dict[tuple[str, str], Target]:
    return {(t.name, t.condition): t for t in check_targets(report, speed=False)}


@pytest.mark.parametrize("condition", [TYPED, ASR])
@pytest.mark.parametrize("name", [name for name, _, _ in ACCURACY_TARGETS])
def test_target(targets: dict[tuple[str, str], Target], name: str, condition: str) -> None:
    if name == "knowledge top-1" and (name, condition) not in targets:
        pytest.skip("tests/data/kb_paraphrases.jsonl is missing")
    target = targets[(name, condition)]
    assert target.passed, (
        f"{name} on {condition} text is {target.value if target.value is None else f'{target.value:.1%}'}, "
        f"target {target.rule} ({target.threshold:.1%}); see python -m bench.nlp_eval --errors"
    )


def test_caller_utterances_never_get_banned_phrase_warnings(report: Report) -> None:
    for condition in (TYPED, ASR):
        assert report.conditions[condition].caller.caller_banned == 0


def test_every_labelled_critical_utterance_is_flagged(report: Report) -> None:
    """Self-harm and emergencies must reach the supervisor: critical recall is 100% on typed text."""
    caller = report.conditions[TYPED].caller
    missed = [e.id for e in report.conditions[TYPED].errors if e.field == "critical" and e.gold == "True"]
    assert caller.critical_found == caller.critical_labelled, f"missed critical items: {missed}"
