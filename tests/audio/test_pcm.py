"""Frame re-assembly and the G.711 codecs."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.audio.pcm import (
    FrameAssembler,
    decode_alaw,
    decode_mulaw,
    encode_alaw,
    encode_mulaw,
)

ALL_CODES = bytes(range(256))


def _push_in_pieces(assembler: FrameAssembler, data: bytes, cuts: list[int]) -> np.ndarray:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    parts = [assembler.push(data[a:b]) for a, b in itertools.pairwise(bounds)]
    return np.concatenate(parts) if parts else np.zeros((0, assembler.channels), np.int16)


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=400),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    encoding=st.sampled_from(["pcm_s16le", "mulaw", "alaw"]),
    channels=st.sampled_from([1, 2]),
)
def test_any_split_gives_the_same_frames(data: bytes, cuts: list[int], encoding: str, channels: int) -> None:
    whole = FrameAssembler(encoding, channels).push(data)
    split = FrameAssembler(encoding, channels)
    pieces = _push_in_pieces(split, data, cuts)
    assert np.array_equal(whole, pieces)
    assert split.pending_bytes == len(data) % split.frame_bytes
    assert pieces.dtype == np.int16 and pieces.shape[1] == channels


def test_partial_sample_is_kept_for_the_next_push() -> None:
    samples = np.array([1000, -2, 32767, -32768], dtype="<i2").tobytes()
    fa = FrameAssembler("pcm_s16le", 1)
    first = fa.push(samples[:3])  # one sample and a half
    assert first[:, 0].tolist() == [1000]
    assert fa.pending_bytes == 1
    rest = fa.push(samples[3:])
    assert rest[:, 0].tolist() == [-2, 32767, -32768]
    assert fa.pending_bytes == 0


def test_odd_total_length_leaves_one_byte_pending() -> None:
    fa = FrameAssembler("pcm_s16le", 1)
    out = fa.push(b"\x01\x00\x02\x00\x03")
    assert out[:, 0].tolist() == [1, 2]
    assert fa.pending_bytes == 1
    assert fa.push(b"").shape == (0, 1)


def test_stereo_is_deinterleaved_even_when_a_frame_is_split() -> None:
    left = np.arange(0, 50, dtype=np.int16)
    right = -np.arange(0, 50, dtype=np.int16) * 7
    interleaved = np.column_stack([left, right]).astype("<i2").tobytes()
    fa = FrameAssembler("pcm_s16le", 2)
    a = fa.push(interleaved[:7])  # one frame and 3 bytes of the next
    assert fa.pending_bytes == 3
    b = fa.push(interleaved[7:])
    frames = np.concatenate([a, b])
    assert frames.shape == (50, 2)
    assert np.array_equal(frames[:, 0], left)
    assert np.array_equal(frames[:, 1], right)


def test_stereo_mulaw_frames_are_two_bytes() -> None:
    fa = FrameAssembler("mulaw", 2)
    out = fa.push(bytes([0xFF, 0x80, 0x00]))
    assert out.tolist() == [[0, 32124]]
    assert fa.pending_bytes == 1


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="encoding"):
        FrameAssembler("opus", 1)
    with pytest.raises(ValueError, match="channels"):
        FrameAssembler("pcm_s16le", 0)


# Known values of the ITU-T G.711 tables.
@pytest.mark.parametrize(
    ("code", "linear"),
    [(0x00, -32124), (0x80, 32124), (0xFF, 0), (0x7F, 0), (0xEF, 132), (0x6F, -132), (0xF0, 120), (0x8F, 16764)],
)
def test_mulaw_known_values(code: int, linear: int) -> None:
    assert decode_mulaw(bytes([code]))[0] == linear


@pytest.mark.parametrize(
    ("code", "linear"),
    [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0xD4, 24), (0x80, 5504), (0x00, -5504)],
)
def test_alaw_known_values(code: int, linear: int) -> None:
    assert decode_alaw(bytes([code]))[0] == linear


def test_mulaw_codes_round_trip() -> None:
    decoded = decode_mulaw(ALL_CODES)
    again = encode_mulaw(decoded)
    # 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF; every other code is exact.
    assert [c for c in range(256) if again[c] != c] == [0x7F]
    assert again[0x7F] == 0xFF


def test_alaw_codes_round_trip() -> None:
    assert encode_alaw(decode_alaw(ALL_CODES)) == ALL_CODES


@pytest.mark.parametrize(("encode", "decode"), [(encode_mulaw, decode_mulaw), (encode_alaw, decode_alaw)])
def test_quantisation_error_is_small_relative_to_the_signal(encode, decode) -> None:  # type: ignore[no-untyped-def]
    x = np.arange(-32768, 32768, 7, dtype=np.int16)
    y = decode(encode(x)).astype(np.int64)
    error = np.abs(y - x.astype(np.int64))
    # G.711 is logarithmic: the step grows with the magnitude, about 1/16 of it at most
    assert np.all(error <= np.maximum(np.abs(x.astype(np.int64)) // 16, 16) + 8)
    assert np.all(np.sign(y[np.abs(x) > 64]) == np.sign(x[np.abs(x) > 64]))


def test_codecs_match_the_reference_implementation_where_available() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop", reason="audioop (reference G.711) is gone from Python 3.13")
    every = np.arange(-32768, 32768, dtype=np.int16)
    assert np.array_equal(decode_mulaw(ALL_CODES), np.frombuffer(audioop.ulaw2lin(ALL_CODES, 2), "<i2"))
    assert np.array_equal(decode_alaw(ALL_CODES), np.frombuffer(audioop.alaw2lin(ALL_CODES, 2), "<i2"))
    assert encode_mulaw(every) == audioop.lin2ulaw(every.astype("<i2").tobytes(), 2)
    assert encode_alaw(every) == audioop.lin2alaw(every.astype("<i2").tobytes(), 2)
