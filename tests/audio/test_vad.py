"""The voice gate: silence is skipped, speech is decoded with pre-roll and hangover."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.audio.vad import GateConfig, GateOutput, VoiceGate, block_level_dbfs
from tests.support.signals import noise, tone

RATE = 16000
BLOCK = RATE * 20 // 1000


def run(gate: VoiceGate, x: np.ndarray, chunk: int = 480) -> list[GateOutput]:
    outputs: list[GateOutput] = []
    for i in range(0, len(x), chunk):
        outputs += gate.process(x[i : i + chunk])
    return outputs + gate.flush()


def decoded_ranges(outputs: list[GateOutput]) -> list[tuple[int, int]]:
    """Decoded sample ranges, one per segment: (first sample, end)."""
    ranges: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for out in outputs:
        if out.samples.size:
            if current is None:
                current = (out.start, out.start + out.samples.size)
            else:
                assert out.start == current[1], "a segment must be contiguous"
                current = (current[0], out.start + out.samples.size)
        if out.ends_segment:
            assert current is not None
            ranges.append(current)
            current = None
    assert current is None, "every opened segment is closed"
    return ranges


def s(seconds: float) -> int:
    return round(seconds * RATE)


def test_silence_and_quiet_line_noise_are_not_decoded() -> None:
    x = np.concatenate([np.zeros(s(2), np.int16), noise(5, RATE, dbfs=-62)])
    gate = VoiceGate(GateConfig(), RATE)
    assert run(gate, x) == []
    assert gate.segments == 0


def test_speech_after_silence_is_not_clipped() -> None:
    """A soft onset (fade-in whose first ~70 ms are below the threshold) is inside the decoded range."""
    onset = 1.5
    speech = tone(1.2, RATE, dbfs=-35, ramp_s=0.4)
    x = np.concatenate([noise(onset, RATE, dbfs=-65), speech, noise(2.0, RATE, dbfs=-65, seed=1)])
    config = GateConfig()
    ranges = decoded_ranges(run(VoiceGate(config, RATE), x))
    assert len(ranges) == 1
    start, _ = ranges[0]
    assert start <= s(onset), "the first (soft) samples of the word are decoded"
    assert start >= s(onset) - s(config.pre_roll_ms / 1000) - 2 * BLOCK, "pre-roll is bounded"


def test_hangover_keeps_the_tail_and_then_closes() -> None:
    config = GateConfig(hangover_ms=500)
    speech_end = 1.0 + 0.8
    x = np.concatenate([noise(1.0, RATE), tone(0.8, RATE, dbfs=-20), noise(3.0, RATE, seed=2)])
    ranges = decoded_ranges(run(VoiceGate(config, RATE), x))
    assert len(ranges) == 1
    _, end = ranges[0]
    assert s(speech_end + 0.5) - BLOCK <= end <= s(speech_end + 0.5) + 2 * BLOCK


def test_a_pause_shorter_than_the_hangover_does_not_split_the_segment() -> None:
    x = np.concatenate([noise(1.0, RATE), tone(0.5, RATE), noise(0.3, RATE, seed=3), tone(0.5, RATE), noise(2, RATE)])
    gate = VoiceGate(GateConfig(hangover_ms=500), RATE)
    assert len(decoded_ranges(run(gate, x))) == 1
    assert gate.segments == 1


def test_separate_utterances_give_separate_segments_in_order() -> None:
    x = np.concatenate([noise(1, RATE), tone(0.6, RATE), noise(2, RATE, seed=4), tone(0.6, RATE), noise(2, RATE)])
    gate = VoiceGate(GateConfig(), RATE)
    ranges = decoded_ranges(run(gate, x))
    assert len(ranges) == 2 and gate.segments == 2
    assert ranges[0][1] <= ranges[1][0]
    assert ranges[0][0] <= s(1.0) < ranges[0][1] and ranges[1][0] <= s(3.6) < ranges[1][1]


def test_a_click_does_not_open_the_gate() -> None:
    x = noise(2, RATE)
    x[s(1.0) : s(1.0) + BLOCK] = tone(0.02, RATE, dbfs=-10)
    assert run(VoiceGate(GateConfig(min_speech_ms=60), RATE), x) == []


def test_steady_loud_noise_is_only_decoded_until_the_floor_has_adapted() -> None:
    config = GateConfig(floor_window_ms=2000, hangover_ms=500)
    x = noise(10, RATE, dbfs=-35)
    ranges = decoded_ranges(run(VoiceGate(config, RATE), x))
    decoded = sum(b - a for a, b in ranges)
    assert decoded <= s(2.0 + 0.5) + 2 * BLOCK
    assert all(b <= s(2.6) for _, b in ranges)


def test_speech_in_steady_noise_is_found_once_the_floor_has_adapted() -> None:
    background = noise(8, RATE, dbfs=-40, seed=5)
    x = background.copy()
    x[s(5.0) : s(6.0)] += tone(1.0, RATE, dbfs=-18)
    ranges = decoded_ranges(run(VoiceGate(GateConfig(), RATE), x))
    assert any(a <= s(5.0) and b >= s(6.0) for a, b in ranges)


def test_outputs_are_in_order_and_never_overlap() -> None:
    x = np.concatenate([noise(0.5, RATE), tone(0.4, RATE), noise(1.5, RATE, seed=6), tone(0.2, RATE), noise(1, RATE)])
    outputs = run(VoiceGate(GateConfig(), RATE), x, chunk=333)
    end = 0
    for out in outputs:
        assert out.start >= end
        end = out.start + out.samples.size
        assert np.array_equal(out.samples, x[out.start : end]), "decoded samples are the input samples"
    assert end <= len(x)


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=20))
def test_chunking_does_not_change_the_decision(cuts: list[int]) -> None:
    x = np.concatenate([noise(0.6, RATE), tone(0.5, RATE, ramp_s=0.05), noise(1.2, RATE, seed=7), tone(0.3, RATE)])
    reference = decoded_ranges(run(VoiceGate(GateConfig(), RATE), x, chunk=len(x)))
    gate = VoiceGate(GateConfig(), RATE)
    outputs: list[GateOutput] = []
    i, k = 0, 0
    while i < len(x):
        n = cuts[k % len(cuts)]
        outputs += gate.process(x[i : i + n])
        i, k = i + n, k + 1
    assert decoded_ranges(outputs + gate.flush()) == reference


def test_disabled_gate_passes_everything() -> None:
    x = np.concatenate([np.zeros(1000, np.int16), tone(0.1, RATE)])
    gate = VoiceGate(GateConfig(enabled=False), RATE)
    outputs = gate.process(x[:700]) + gate.process(x[700:]) + gate.flush()
    assert np.array_equal(np.concatenate([o.samples for o in outputs]), x)
    assert [o.start for o in outputs] == [0, 700]
    assert not any(o.ends_segment for o in outputs)


def test_level_of_known_signals() -> None:
    assert block_level_dbfs(np.zeros(320, np.int16)) == -100.0
    assert block_level_dbfs(tone(0.1, RATE, dbfs=-20)) == pytest.approx(-20, abs=0.1)


def test_config_is_parsed_strictly() -> None:
    assert GateConfig.from_mapping({"hangover_ms": 600, "snr_db": 10}) == GateConfig(hangover_ms=600, snr_db=10.0)
    with pytest.raises(ValueError, match="unknown gate setting"):
        GateConfig.from_mapping({"hangover": 600})
    with pytest.raises(ValueError, match="integer"):
        GateConfig.from_mapping({"pre_roll_ms": 300.5})
    with pytest.raises(ValueError, match="true or false"):
        GateConfig.from_mapping({"enabled": "yes"})
    with pytest.raises(ValueError, match="hysteresis"):
        GateConfig(snr_db=3, hysteresis_db=4)
    with pytest.raises(ValueError, match="block_ms"):
        GateConfig(block_ms=1)
