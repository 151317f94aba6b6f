"""Synthetic signals for the audio tests: tones and quiet line noise."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


def tone(seconds: float, rate: int, *, freq: float = 440.0, dbfs: float = -20.0, ramp_s: float = 0.0) -> Int16Array:
    """A sine at ``dbfs`` RMS, optionally faded in and out linearly over ``ramp_s``."""
    n = round(seconds * rate)
    t = np.arange(n) / rate
    amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    x = amplitude * np.sin(2 * np.pi * freq * t)
    if ramp_s > 0:
        r = min(round(ramp_s * rate), n // 2)
        envelope = np.ones(n)
        envelope[:r] = np.linspace(0, 1, r, endpoint=False)
        envelope[n - r :] = np.linspace(1, 0, r)
        x *= envelope
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def noise(seconds: float, rate: int, *, dbfs: float = -65.0, seed: int = 0) -> Int16Array:
    """White noise at ``dbfs`` RMS (a quiet phone line)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 32768 * 10 ** (dbfs / 20), round(seconds * rate))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
