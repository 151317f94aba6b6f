"""Reading call recordings for replay: RIFF/WAVE files as int16 frames.

Accepted: mono or stereo; PCM 8 (unsigned), 16, 24 or 32 bit; IEEE float
32/64 bit; G.711 mu-law and a-law (8 bit); also in WAVE_FORMAT_EXTENSIBLE
files.  Any sample rate: rates outside what the server takes (8000 to 48000 Hz)
are resampled to the nearest of those (libsoxr).  Everything else is a
``WavError`` saying what the file is and what is accepted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assist.audio.pcm import decode_alaw, decode_mulaw
from assist.protocol.events import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

Int16Array = npt.NDArray[np.int16]

PCM, FLOAT, ALAW, MULAW, EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_NAMES = {PCM: "PCM", FLOAT: "IEEE float", ALAW: "a-law", MULAW: "mu-law"}
ACCEPTED = "mono or stereo WAV: PCM 8/16/24/32-bit, float 32/64-bit, mu-law or a-law"


class WavError(ValueError):
    """The file is not a WAV recording the replay can read."""


@dataclass(frozen=True, slots=True)
class WavAudio:
    """A recording as int16 frames ``(n, channels)`` at ``sample_rate``."""

    frames: Int16Array
    sample_rate: int
    source_format: str  # e.g. "PCM 16-bit, 44100 Hz" (as in the file)

    @property
    def channels(self) -> int:
        return int(self.frames.shape[1])

    @property
    def duration(self) -> float:
        return len(self.frames) / self.sample_rate


def read_wav(path: Path) -> WavAudio:
    """Read a WAV file.  Raises ``WavError`` (also for a missing or unreadable file)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WavError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_wav(data, path.name)


def _chunks(data: bytes, name: str) -> dict[bytes, bytes]:
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise WavError(f"{name} is not a WAV file (no RIFF/WAVE header); replay takes {ACCEPTED}")
    if data[:4] == b"RIFX":
        raise WavError(f"{name} is a big-endian (RIFX) WAV file; convert it, e.g. sox in.wav -e signed -b 16 out.wav")
    found: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8: pos + 8 + size]  # a data chunk cut short (an unfinished recording) is kept
        found.setdefault(cid, body)
        pos += 8 + size + (size & 1)
    if b"fmt " not in found:
        raise WavError(f"{name} has no 'fmt ' chunk: not a valid WAV file")
    if b"data" not in found:
        raise WavError(f"{name} has no 'data' chunk: no audio in it")
    return found


def parse_wav(data: bytes, name: str = "the file") -> WavAudio:
    """Decode the bytes of a WAV file (see the module docstring)."""
    chunks = _chunks(data, name)
    fmt = chunks[b"fmt "]
    if len(fmt) < 16:
        raise WavError(f"{name}: the 'fmt ' chunk is too short")
    tag, channels, rate, _, block, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == EXTENSIBLE:
        if len(fmt) < 40:
            raise WavError(f"{name}: the extensible 'fmt ' chunk is too short")
        tag = struct.unpack_from("<H", fmt, 24)[0]
    kind = _NAMES.get(tag)
    if kind is None:
        raise WavError(f"{name} uses WAV format 0x{tag:04x}, which replay cannot decode; it takes {ACCEPTED}")
    if channels not in (1, 2):
        raise WavError(f"{name} has {channels} channels; replay takes mono or stereo recordings")
    if rate <= 0:
        raise WavError(f"{name}: invalid sample rate {rate}")
    described = f"{kind} {bits}-bit, {rate} Hz, {'stereo' if channels == 2 else 'mono'}"
    width = {PCM: (1, 2, 3, 4), FLOAT: (4, 8), ALAW: (1,), MULAW: (1,)}[tag]
    if bits % 8 or bits // 8 not in width or block != channels * (bits // 8):
        raise WavError(f"{name}: {described} is not supported (block size {block}); it takes {ACCEPTED}")
    body = chunks[b"data"]
    usable = len(body) - len(body) % block
    if usable == 0:
        raise WavError(f"{name} holds no audio (empty 'data' chunk)")
    samples = _to_int16(body[:usable], tag, bits // 8)
    frames = samples.reshape(-1, channels)
    frames, out_rate = _supported_rate(frames, rate)
    return WavAudio(np.ascontiguousarray(frames), out_rate, described)


def _to_int16(raw: bytes, tag: int, width: int) -> Int16Array:
    if tag == MULAW:
        return decode_mulaw(raw)
    if tag == ALAW:
        return decode_alaw(raw)
    if tag == FLOAT:
        values = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
        return np.asarray(np.clip(np.round(values * 32767.0), -32768, 32767), dtype=np.int16)
    if width == 1:  # 8-bit PCM is unsigned
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        return b[:, 2].view(np.int8).astype(np.int16) * 256 + b[:, 1].astype(np.int16)
    return (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)


def _supported_rate(frames: Int16Array, rate: int) -> tuple[Int16Array, int]:
    """Frames at a rate the server accepts: unchanged, or resampled to the nearest accepted rate."""
    if MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        return frames, rate
    import soxr

    target = MAX_SAMPLE_RATE if rate > MAX_SAMPLE_RATE else MIN_SAMPLE_RATE
    out = soxr.resample(frames.astype(np.float32), rate, target)
    return np.asarray(np.clip(np.round(out), -32768, 32767), dtype=np.int16).reshape(-1, frames.shape[1]), target


def write_wav(path: Path, frames: Int16Array, sample_rate: int) -> None:
    """Write int16 frames ``(n, channels)`` (or mono ``(n,)``) as a PCM 16-bit WAV file."""
    import wave

    arr = frames if frames.ndim == 2 else frames.reshape(-1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(arr.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(np.ascontiguousarray(arr, dtype="<i2").tobytes())
