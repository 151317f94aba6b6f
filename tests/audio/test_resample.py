"""Streaming resampling to the model rate."""

from __future__ import annotations

import numpy as np
import pytest

from assist.audio.resample import StreamResampler
from tests.support.signals import tone

RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]


def _stream(resampler: StreamResampler, x: np.ndarray, chunk: int) -> np.ndarray:
    parts = [resampler.process(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    return np.concatenate([*parts, resampler.flush()])


def _peak_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("in_rate", RATES)
def test_length_and_frequency_are_preserved(in_rate: int) -> None:
    seconds = 1.3
    x = tone(seconds, in_rate, freq=1000.0, dbfs=-10.0)
    y = _stream(StreamResampler(in_rate, 16000), x, chunk=in_rate // 50)  # 20 ms chunks
    assert y.dtype == np.int16
    assert abs(len(y) - round(len(x) * 16000 / in_rate)) <= 1
    assert _peak_frequency(y, 16000) == pytest.approx(1000.0, abs=2.0)
    # amplitude kept (away from the filter's start-up and flush edges)
    mid = y[len(y) // 4 : 3 * len(y) // 4].astype(np.float64)
    assert np.sqrt(np.mean(mid**2)) == pytest.approx(32768 * 10 ** (-10 / 20), rel=0.03)


@pytest.mark.parametrize("in_rate", [8000, 44100])
def test_output_is_time_aligned(in_rate: int) -> None:
    """Output sample k is input time k / out_rate: an impulse lands where it belongs."""
    x = np.zeros(in_rate, dtype=np.int16)
    x[in_rate // 2] = 30000
    y = _stream(StreamResampler(in_rate, 16000), x, chunk=160)
    assert abs(int(np.argmax(np.abs(y))) - 8000) <= 1


def test_chunking_barely_changes_the_output() -> None:
    x = tone(0.7, 8000, freq=300.0) // 2 + tone(0.7, 8000, freq=2100.0) // 2
    a = _stream(StreamResampler(8000, 16000), x, chunk=len(x))
    b = _stream(StreamResampler(8000, 16000), x, chunk=37)
    assert len(a) == len(b)
    assert np.max(np.abs(a.astype(np.int32) - b.astype(np.int32))) <= 4


def test_equal_rates_pass_through_unchanged() -> None:
    x = np.arange(-500, 500, dtype=np.int16)
    r = StreamResampler(16000, 16000)
    assert np.array_equal(r.process(x), x)
    assert r.flush().size == 0


def test_invalid_rates_are_rejected() -> None:
    with pytest.raises(ValueError):
        StreamResampler(0, 16000)
