"""Raw call audio → int16 frames: byte re-assembly, G.711 (mu-law / A-law) codecs.

Websocket messages may cut the byte stream anywhere, even inside a sample.
``FrameAssembler`` keeps the incomplete tail for the next message and returns the
complete frames as an ``(n_frames, channels)`` int16 array (column ``i`` is
channel ``i``).  The G.711 codecs are table driven: the 256-entry decode tables
and the 65536-entry encode tables are computed once from the ITU-T G.711
algorithm (``audioop`` is gone from Python 3.13).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
UInt8Array = npt.NDArray[np.uint8]

BYTES_PER_SAMPLE: dict[str, int] = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}

_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635  # 8159 in the 14-bit domain


def _mulaw_decode_table() -> Int16Array:
    code = (~np.arange(256, dtype=np.int32)) & 0xFF
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> Int16Array:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    value = (code & 0x0F) << 4
    value = np.where(segment == 0, value + 8, value + 0x108)
    value = np.where(segment > 1, value << np.maximum(segment - 1, 0), value)
    return np.where((code & 0x80) != 0, value, -value).astype(np.int16)


def _segment(value: npt.NDArray[np.int32], tops: tuple[int, ...]) -> npt.NDArray[np.int32]:
    """Index of the first ``top`` >= value (len(tops) when above all), as in the G.711 reference."""
    return np.searchsorted(np.asarray(tops, dtype=np.int32), value, side="left").astype(np.int32)


def _mulaw_encode(x: npt.NDArray[np.int32]) -> UInt8Array:
    value = x >> 2  # 14-bit linear
    negative = value < 0
    mask = np.where(negative, 0x7F, 0xFF)
    value = np.minimum(np.abs(value), _MULAW_CLIP >> 2) + (_MULAW_BIAS >> 2)
    segment = _segment(value, (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF))
    code: npt.NDArray[np.int32] = (segment << 4) | ((value >> (segment + 1)) & 0x0F)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _alaw_encode(x: npt.NDArray[np.int32]) -> UInt8Array:
    value = x >> 3  # 13-bit linear
    positive = value >= 0
    mask = np.where(positive, 0xD5, 0x55)
    value = np.where(positive, value, -value - 1)
    segment = _segment(value, (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF))
    shift = np.where(segment < 2, 1, segment)
    code = (segment << 4) | ((value >> shift) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


@cache
def _decode_table(encoding: str) -> Int16Array:
    table = _mulaw_decode_table() if encoding == "mulaw" else _alaw_decode_table()
    table.flags.writeable = False
    return table


@cache
def _encode_table(encoding: str) -> UInt8Array:
    every = np.arange(-32768, 32768, dtype=np.int32)
    table = _mulaw_encode(every) if encoding == "mulaw" else _alaw_encode(every)
    table.flags.writeable = False
    return table


def decode_mulaw(data: bytes | UInt8Array) -> Int16Array:
    """G.711 mu-law bytes → int16 samples."""
    codes = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    return _decode_table("mulaw")[codes]


def decode_alaw(data: bytes | UInt8Array) -> Int16Array:
    """G.711 A-law bytes → int16 samples."""
    codes = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    return _decode_table("alaw")[codes]


def encode_mulaw(samples: Int16Array) -> bytes:
    """int16 samples → G.711 mu-law bytes (telephony test audio, replay client)."""
    index = np.asarray(samples, dtype=np.int16).astype(np.int32) + 32768
    return _encode_table("mulaw")[index].tobytes()


def encode_alaw(samples: Int16Array) -> bytes:
    """int16 samples → G.711 A-law bytes."""
    index = np.asarray(samples, dtype=np.int16).astype(np.int32) + 32768
    return _encode_table("alaw")[index].tobytes()


class FrameAssembler:
    """Turns an arbitrarily split byte stream into complete interleaved frames."""

    def __init__(self, encoding: str, channels: int) -> None:
        if encoding not in BYTES_PER_SAMPLE:
            raise ValueError(f"unknown encoding {encoding!r}: use one of {', '.join(BYTES_PER_SAMPLE)}")
        if channels < 1:
            raise ValueError("channels must be at least 1")
        self.encoding = encoding
        self.channels = channels
        self.frame_bytes = BYTES_PER_SAMPLE[encoding] * channels
        self._pending = bytearray()

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame kept for the next ``push``."""
        return len(self._pending)

    def push(self, data: bytes) -> Int16Array:
        """Add bytes; return the frames completed so far, shape ``(n_frames, channels)``."""
        self._pending += data
        usable = len(self._pending) - len(self._pending) % self.frame_bytes
        chunk = bytes(self._pending[:usable])
        del self._pending[:usable]
        if self.encoding == "pcm_s16le":
            samples = np.frombuffer(chunk, dtype="<i2").astype(np.int16)
        elif self.encoding == "mulaw":
            samples = decode_mulaw(chunk)
        else:
            samples = decode_alaw(chunk)
        return samples.reshape(-1, self.channels)
