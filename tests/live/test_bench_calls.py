"""The call builder and the latency arithmetic of bench/transcript_calls.py and bench/prompt_bench.py."""

from __future__ import annotations

import itertools
import random
from typing import Any

from assist.live.transcript_source import ENDPOINT_DELAY
from assist.nlp.tokenize import Tokenizer
from bench.prompt_bench import prompt_times
from bench.transcript_calls import (
    CHARS_PER_SECOND,
    Arrival,
    CallTrace,
    build_call,
    due_at,
    load_utterances,
    percentile,
)


def test_calls_alternate_roles_in_spaced_chinese_at_speaking_rate() -> None:
    utterances = load_utterances(Tokenizer().cut)
    assert len(utterances.caller) > 100 and len(utterances.agent) > 50  # sample calls + evaluation sets
    lines = build_call(utterances, 60.0, random.Random(3))
    assert lines[0]["role"] == "agent" and lines[-1]["start"] < 60.0 <= lines[-1]["end"] + 1.0
    assert [ln["role"] for ln in lines] == ["agent", "caller"] * (len(lines) // 2) + ["agent"] * (len(lines) % 2)
    for prev, line in itertools.pairwise(lines):
        assert prev["end"] < line["start"]  # turns do not overlap
    for line in lines:
        chars = len(line["text"].replace(" ", ""))
        assert " " in line["text"] or chars <= 4  # words spaced as Vosk writes them
        assert not any(p in line["text"] for p in "，。？！")
        rate = chars / (line["end"] - line["start"])
        assert rate <= CHARS_PER_SECOND * 1.2
    # the same seed gives the same calls
    assert build_call(utterances, 60.0, random.Random(3)) == lines


def transcript(utt: str, text: str, end: float, final: bool = False) -> dict[str, Any]:
    return {"type": "transcript", "call_id": "c", "utterance_id": utt, "final": final, "text": text,
            "start": 0.0, "end": end}


def prompt(utt: str, span: str | None) -> dict[str, Any]:
    return {"type": "prompt", "call_id": "c", "utterance_id": utt, "kind": "banned",
            "span": {"text": span} if span else None}


def test_prompt_times_pair_each_prompt_with_its_trigger_transcript() -> None:
    trace = CallTrace("c", 2.0, [], ready_at=100.0)
    arrivals = [
        Arrival(101.000, transcript("agent-0", "你 自己", 1.5)),
        Arrival(101.010, transcript("caller-0", "我 想", 1.6)),
        Arrival(101.020, transcript("agent-0", "你 自己 去 社保局", 1.8)),
        Arrival(101.023, prompt("agent-0", "自己去社保局")),  # trigger: the third event
        Arrival(101.030, prompt("caller-9", None)),  # no transcript of that utterance: an orphan
        Arrival(101.040, prompt("caller-0", "投诉")),  # its evidence is not in the trigger text: an orphan
        Arrival(102.000, transcript("agent-0", "你 自己 去 社保局", 1.8, final=True)),
        Arrival(102.002, prompt("agent-0", None)),
    ]
    times = prompt_times(trace, arrivals)
    assert times.orphans == 2
    assert [round(t, 4) for t in times.added] == [0.003, 0.002]
    release = [100.0 + 1.8 / 2.0, 100.0 + (1.8 + ENDPOINT_DELAY) / 2.0]
    assert times.end_to_end == [101.023 - release[0], 102.002 - release[1]]
    assert due_at(trace, arrivals[0].event) == 100.0 + 1.5 / 2.0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
