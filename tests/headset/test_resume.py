"""AudioHistory, TranscriptLedger, Backoff and Pacer: the bookkeeping behind resuming a call."""

from __future__ import annotations

import random

import numpy as np
import pytest

from assist.headset.history import AudioHistory, TranscriptLedger, floor_to_ms, ms_step
from assist.headset.pacing import Backoff, Pacer
from assist.text import join_cjk
from tests.support.capture_fakes import ramp_signal


def test_ms_boundaries() -> None:
    assert ms_step(16000) == 16 and ms_step(8000) == 8 and ms_step(44100) == 441 and ms_step(11025) == 441
    assert floor_to_ms(14415, 16000) == 14400
    assert floor_to_ms(44100 + 440, 44100) == 44100
    for rate in (8000, 11025, 16000, 22050, 44100, 48000):
        frame = floor_to_ms(123457, rate)
        # the time of that frame is exact in milliseconds, so JSON rounding cannot move it
        assert round(frame / rate, 3) * rate == pytest.approx(frame, abs=1e-6)


def test_history_reads_back_interleaved_little_endian() -> None:
    history = AudioHistory(16000, 2, max_seconds=30)
    signal = ramp_signal(1.0, 16000, 2)
    for i in range(0, len(signal), 700):
        history.append(signal[i : i + 700])
    assert (history.start, history.end) == (0, 16000)
    assert history.read(100, 50) == signal[100:150].astype("<i2").tobytes()
    assert history.read(15990, 1600) == signal[15990:].astype("<i2").tobytes()
    with pytest.raises(ValueError):
        history.append(np.zeros((10, 1), dtype=np.int16))


def test_history_forgets_the_oldest_on_millisecond_boundaries() -> None:
    history = AudioHistory(11025, 1, max_seconds=2)
    signal = ramp_signal(10.0, 11025, 1)
    for i in range(0, len(signal), 1000):
        history.append(signal[i : i + 1000])
        assert history.end - history.start <= 2 * 11025 + 11025 // 2 + 441
        assert history.start % 441 == 0
    assert history.start > 0
    assert history.read(history.start, 5) == signal[history.start : history.start + 5].tobytes()
    with pytest.raises(IndexError):
        history.read(history.start - 1, 5)


def final(role: str, uid: str, start: float, end: float, text: str) -> dict[str, object]:
    return {"type": "transcript", "role": role, "utterance_id": uid, "final": True, "text": text,
            "start": start, "end": end}


def partial(role: str, uid: str, start: float, end: float, text: str) -> dict[str, object]:
    return {**final(role, uid, start, end, text), "final": False}


def prompt(role: str, uid: str, at: float) -> dict[str, object]:
    return {"type": "prompt", "role": role, "utterance_id": uid, "audio_time": at, "kind": "referral"}


def test_resume_time_is_the_earliest_end_over_roles() -> None:
    ledger = TranscriptLedger()
    assert ledger.resume_time(("agent", "caller")) == 0.0
    assert ledger.accept(final("caller", "caller-0", 0.5, 2.0, "你好"))
    assert ledger.resume_time(("agent", "caller")) == 0.0  # the agent has no final yet
    assert ledger.accept(final("agent", "agent-0", 2.5, 4.0, "您好"))
    assert ledger.accept(final("caller", "caller-1", 4.5, 6.0, "停水 了"))
    assert ledger.resume_time(("agent", "caller")) == 4.0
    assert ledger.resume_time(("mixed",)) == 0.0


def test_nothing_is_dropped_before_a_reconnect() -> None:
    ledger = TranscriptLedger()
    for event in (final("caller", "caller-0", 0, 2, "同一 句"), final("caller", "caller-1", 3, 4, "同一 句"),
                  prompt("caller", "caller-1", 4.0), {"type": "call_state"}):
        assert ledger.accept(event)


def test_replays_after_a_reconnect_are_recognised() -> None:
    ledger = TranscriptLedger()
    ledger.accept(final("caller", "caller-0", 0.5, 2.0, "我 家 停水 了"))
    ledger.accept(final("agent", "agent-0", 2.5, 4.0, "您好 请 讲"))
    ledger.accept(final("caller", "caller-1", 4.5, 6.0, "三 天 了"))
    ledger.begin_connection()  # resumes from 4.0 (agent); caller audio 4.0-6.0 is decoded again
    # the restarted server numbers from 0 again: same ids, different utterances
    assert not ledger.accept(partial("caller", "caller-0", 4.5, 5.0, "三"))
    assert not ledger.accept(final("caller", "caller-0", 4.52, 6.03, "三 天 了"))
    assert not ledger.accept(prompt("caller", "caller-0", 6.03))
    assert not ledger.accept({"type": "alert", "utterance_id": "caller-0", "audio_time": 6.03})
    # a re-decode that cuts the utterance differently but says the same is still a replay
    assert not ledger.accept(final("caller", "caller-1", 4.4, 6.4, "三天了"))
    # new speech, even under an id seen before, gets through with its prompts
    assert ledger.accept(partial("caller", "caller-2", 7.0, 7.5, "没"))
    assert ledger.accept(final("caller", "caller-2", 7.0, 8.0, "没 人 管"))
    assert ledger.accept(prompt("caller", "caller-2", 8.0))
    assert ledger.accept(final("agent", "agent-0", 8.5, 9.0, "好的"))
    assert ledger.accept(prompt("agent", "agent-0", 9.0))
    assert ledger.covered == {"caller": 8.0, "agent": 9.0}
    assert ledger.replays_dropped == 5


def test_an_utterance_cut_by_the_disconnect_is_shown() -> None:
    ledger = TranscriptLedger()
    ledger.accept(final("caller", "caller-0", 0.5, 2.0, "喂"))
    ledger.begin_connection()
    # the caller was speaking when the server died: the final of 1.8-3.0 is new text
    assert ledger.accept(final("caller", "caller-0", 1.8, 3.0, "我 要 投诉"))


def test_join_cjk() -> None:
    assert join_cjk(" 我 想 问 一下 公积金 ") == "我想问一下公积金"
    assert join_cjk("打 12345 热线") == "打 12345 热线"


def test_backoff_doubles_to_the_maximum_and_resets() -> None:
    backoff = Backoff(0.5, 10.0, jitter=0.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.next() == 0.5
    jittered = Backoff(0.5, 10.0, jitter=0.1, rng=random.Random(7))
    delays = [jittered.next() for _ in range(3)]
    assert delays != [0.5, 1.0, 2.0]
    assert all(0.9 * base <= d <= 1.1 * base for d, base in zip(delays, (0.5, 1.0, 2.0), strict=True))
    with pytest.raises(ValueError):
        Backoff(0, 1)


def test_pacer_allows_a_burst_then_max_speed() -> None:
    now = [0.0]
    pacer = Pacer(2.0, burst=2.0, clock=lambda: now[0])
    assert pacer.take(1.0) == 0.0 and pacer.take(1.0) == 0.0
    assert pacer.take(0.5) == pytest.approx(0.25)  # 0.5 s of audio at 2x takes 0.25 s
    now[0] += 10.0
    assert pacer.take(1.5) == 0.0  # refilled, but never beyond the burst
    assert Pacer(None, 1.0).take(100.0) == 0.0
