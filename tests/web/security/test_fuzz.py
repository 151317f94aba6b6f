"""Fuzzing the wire parsers with hypothesis.

* ``parse_client_message``: arbitrary text and bytes, invalid UTF-8, JSON of
  the wrong types, huge numbers, deep nesting, truncated and oversized
  messages: the only exception ever raised is ``ProtocolError``.
* ``FrameAssembler`` and the per-channel pipeline behind it: the same bytes
  split any way give the same frames, and the recognizer is fed the same audio
  with the same segmentation.  (The transcript itself cannot be compared
  exactly: Vosk with the Korean model gives different text for byte-identical
  input on repeated runs; reported.)
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assist.audio.pcm import BYTES_PER_SAMPLE, FrameAssembler, encode_alaw, encode_mulaw
from assist.protocol.client_messages import ClientMessage, parse_client_message
from assist.protocol.enums import Encoding, Role
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import (
    MAX_ID_LENGTH,
    Acknowledge,
    End,
    Start,
    Subscribe,
    TranscriptLine,
)

ENCODINGS = tuple(Encoding)
ROLES = tuple(Role)
FIELDS = ("type", "call_id", "agent_id", "sample_rate", "encoding", "channels", "roles", "resume_from", "mode",
          "source", "speed", "all", "alert_id", "by", "role", "start", "end", "text")
TYPES = ("start", "end", "line", "subscribe", "ack")
# Integers up to the 4300 digits json accepts, far beyond float range.
HUGE_INT = 10**4000

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-HUGE_INT, max_value=HUGE_INT)
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=60)
    | st.sampled_from(("agent", "caller", "mixed", "live", "training", "mulaw", "alaw", "pcm_s16le", *TYPES))
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
messages = st.builds(
    lambda kind, fields: {"type": kind, **fields} if kind is not None else fields,
    st.one_of(st.none(), st.sampled_from(TYPES), json_values),
    st.dictionaries(st.sampled_from(FIELDS[1:]) | st.text(max_size=12), json_values, max_size=8),
)


def parse_or_protocol_error(raw: str | bytes) -> ClientMessage | ProtocolError:
    """Parse; a ``ProtocolError`` is returned, any other exception propagates (and fails the test)."""
    try:
        return parse_client_message(raw)
    except ProtocolError as exc:
        assert isinstance(exc.code, ErrorCode)
        assert exc.close_code in (1003, 1008, 1009, 1011, 1013)
        return exc


def check_valid(msg: ClientMessage) -> None:
    """A parsed message satisfies the documented constraints."""
    if isinstance(msg, Start):
        assert msg.call_id and len(msg.call_id) <= MAX_ID_LENGTH and msg.call_id.isprintable()
        assert 8000 <= msg.sample_rate <= 48000 and msg.encoding in ENCODINGS
        assert msg.channels in (1, 2) and len(msg.roles) == msg.channels and set(msg.roles) <= set(ROLES)
        assert msg.mode in ("live", "training")
        assert msg.resume_from is None or (msg.resume_from >= 0 and np.isfinite(msg.resume_from))
        assert msg.source in ("audio", "transcript") and (msg.speed == 0 or 0.25 <= msg.speed <= 100)
    elif isinstance(msg, TranscriptLine):
        assert msg.role in ROLES and 0 <= msg.start <= msg.end and isinstance(msg.text, str)
    elif isinstance(msg, Subscribe):
        assert sum((msg.call_id is not None, msg.agent_id is not None, msg.all)) == 1
    else:
        assert isinstance(msg, (End, Acknowledge))


@settings(deadline=None)
@given(st.text(max_size=500))
@example("")
@example("\x00")
@example("\ud800")
@example("[" * 100_000)
@example('{"type":"start"' + "}" * 3)
@example("NaN")
@example("1" * 5000)
def test_arbitrary_text(text: str) -> None:
    result = parse_or_protocol_error(text)
    if not isinstance(result, ProtocolError):
        check_valid(result)


@settings(deadline=None)
@given(st.binary(max_size=500))
@example(b"\xff\xfe{}")
@example(b"\xef\xbb\xbf{\"type\":\"end\"}")
@example(b"{\"type\":\"end\",\"x\":\"\xc3\x28\"}")
@example(b"\xed\xa0\x80")  # an encoded surrogate: invalid UTF-8
def test_arbitrary_bytes(data: bytes) -> None:
    result = parse_or_protocol_error(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert isinstance(result, ProtocolError) and result.code is ErrorCode.BAD_JSON


@settings(deadline=None)
@given(json_values)
def test_any_json_value(value: Any) -> None:
    raw = json.dumps(value)
    result = parse_or_protocol_error(raw)
    if not isinstance(value, dict):
        assert isinstance(result, ProtocolError) and result.code is ErrorCode.BAD_MESSAGE


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(messages, st.booleans())
def test_messages_with_wrong_types(obj: dict[str, Any], as_bytes: bool) -> None:
    raw = json.dumps(obj, ensure_ascii=False)
    result = parse_or_protocol_error(raw.encode("utf-8", "surrogatepass") if as_bytes else raw)
    if not isinstance(result, ProtocolError):
        check_valid(result)


valid_starts = st.builds(
    Start,
    call_id=st.text(st.characters(blacklist_categories=("C", "Z")), min_size=1, max_size=MAX_ID_LENGTH),
    agent_id=st.text(st.characters(blacklist_categories=("C", "Z")), min_size=1, max_size=MAX_ID_LENGTH),
    sample_rate=st.integers(8000, 48000),
    encoding=st.sampled_from(ENCODINGS),
    channels=st.just(1),
    roles=st.sampled_from([("mixed",), ("agent",), ("caller",)]),
    resume_from=st.none() | st.floats(0, 1e6),
    mode=st.sampled_from(("live", "training")),
) | st.builds(
    Start,
    call_id=st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
    agent_id=st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
    sample_rate=st.integers(8000, 48000),
    encoding=st.sampled_from(ENCODINGS),
    channels=st.just(2),
    roles=st.sampled_from([("agent", "caller"), ("caller", "agent")]),
)


@settings(deadline=None)
@given(valid_starts)
def test_valid_start_round_trips(start: Start) -> None:
    if start.resume_from is not None:  # the wire form keeps 3 decimals
        start = dataclasses.replace(start, resume_from=round(start.resume_from, 3))
    assert parse_client_message(start.to_json()) == start


@settings(deadline=None)
@given(valid_starts, st.data())
def test_truncated_messages(start: Start, data: st.DataObject) -> None:
    raw = start.to_json()
    cut = data.draw(st.integers(0, len(raw) - 1))
    result = parse_or_protocol_error(raw[:cut])
    assert isinstance(result, ProtocolError) and result.code is ErrorCode.BAD_JSON


@pytest.mark.parametrize("depth", [10, 500, 990, 1000, 5000, 200_000])
@pytest.mark.parametrize("field", ["encoding", "mode", "roles", "call_id", "resume_from", "type"])
def test_deep_nesting(depth: int, field: str) -> None:
    nested = "[" * depth + "1" + "]" * depth
    raw = '{"type":"start","call_id":"c","agent_id":"a","sample_rate":16000,"channels":1,' + f'"{field}":{nested}}}'
    assert isinstance(parse_or_protocol_error(raw), ProtocolError)
    deep_obj = '{"a":' * depth + "1" + "}" * depth
    assert isinstance(parse_or_protocol_error(deep_obj), ProtocolError)


@pytest.mark.parametrize("field", ["sample_rate", "channels", "resume_from", "speed"])
@pytest.mark.parametrize("number", ["9" * 300, "9" * 4301, "1e400", "-1e400", "1e-400", "NaN", "Infinity",
                                    "-Infinity", "0", "-0.0", "16000.0", "true", "null", "[]", '"16000"'])
def test_huge_and_odd_numbers(field: str, number: str) -> None:
    """(Integers of 309 to 4300 digits: test_huge_integers_where_floats_are_expected.)"""
    base = {"type": "start", "call_id": "c", "agent_id": "a", "sample_rate": 16000}
    base.pop(field, None)
    raw = json.dumps(base)[:-1] + f',"{field}":{number}}}'
    result = parse_or_protocol_error(raw)
    if not isinstance(result, ProtocolError):
        check_valid(result)


def test_oversized_message_is_refused_without_exception() -> None:
    big = {"type": "start", "call_id": "c" * 1_000_000, "agent_id": "a", "sample_rate": 16000}
    result = parse_or_protocol_error(json.dumps(big))
    assert isinstance(result, ProtocolError) and result.code is ErrorCode.BAD_MESSAGE
    roles = {"type": "start", "call_id": "c", "agent_id": "a", "sample_rate": 16000, "channels": 2,
             "roles": ["agent"] * 500_000}
    assert isinstance(parse_or_protocol_error(json.dumps(roles)), ProtocolError)


# ---------------------------------------------------------------- regressions found by fuzzing events.py


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"start","call_id":"c","agent_id":"a","sample_rate":16000,"resume_from":1%s}' % ("0" * 400),
        '{"type":"start","call_id":"c","agent_id":"a","sample_rate":16000,"speed":1%s}' % ("0" * 400),
        '{"type":"line","role":"agent","start":1%s,"end":1,"text":"x"}' % ("0" * 400),
        '{"type":"line","role":"agent","start":0,"end":-1%s,"text":"x"}' % ("0" * 400),
    ],
)
def test_huge_integers_where_floats_are_expected(raw: str) -> None:
    assert isinstance(parse_or_protocol_error(raw), ProtocolError)


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "start", "call_id": "c", "agent_id": "a", "sample_rate": 16000, "encoding": "x" * 100_000},
        {"type": "start", "call_id": "c", "agent_id": "a", "sample_rate": int("9" * 4300)},
    ],
)
def test_error_messages_do_not_echo_unbounded_client_input(obj: dict[str, Any]) -> None:
    result = parse_or_protocol_error(json.dumps(obj))
    assert isinstance(result, ProtocolError)
    assert len(result.message) <= 300


def test_ack_by_is_printable() -> None:
    assert isinstance(parse_or_protocol_error('{"type":"ack","alert_id":"a1","by":"x\\n\\u0000y"}'), ProtocolError)


# ---------------------------------------------------------------- frame re-assembly


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    out.append(data[prev:])
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(BYTES_PER_SAMPLE)),
    st.integers(1, 2),
    st.binary(max_size=2000),
    st.lists(st.integers(0, 2000), max_size=40),
)
def test_frames_do_not_depend_on_how_bytes_are_split(encoding: str, channels: int, data: bytes,
                                                     cuts: list[int]) -> None:
    whole = FrameAssembler(encoding, channels)
    expected = whole.push(data)
    split = FrameAssembler(encoding, channels)
    parts = [split.push(piece) for piece in _pieces(data, cuts)]
    got = np.concatenate(parts) if parts else np.zeros((0, channels), np.int16)
    frame_bytes = BYTES_PER_SAMPLE[encoding] * channels
    assert got.dtype == np.int16 and got.shape == (len(data) // frame_bytes, channels)
    assert np.array_equal(got, expected)
    assert split.pending_bytes == whole.pending_bytes == len(data) % frame_bytes
    if encoding == "pcm_s16le":
        usable = len(data) - len(data) % frame_bytes
        assert np.array_equal(got.reshape(-1), np.frombuffer(data[:usable], "<i2"))


@settings(deadline=None)
@given(st.sampled_from(sorted(BYTES_PER_SAMPLE)), st.integers(1, 2), st.binary(max_size=64))
def test_pending_tail_completes_on_the_next_push(encoding: str, channels: int, data: bytes) -> None:
    assembler = FrameAssembler(encoding, channels)
    for byte in data:  # one byte per message: the worst split
        frames = assembler.push(bytes([byte]))
        assert frames.shape[0] in (0, 1)
    assert assembler.pending_bytes == len(data) % (BYTES_PER_SAMPLE[encoding] * channels)


def _encode(samples: npt.NDArray[np.int16], encoding: str) -> bytes:
    if encoding == "mulaw":
        return encode_mulaw(samples)
    if encoding == "alaw":
        return encode_alaw(samples)
    return samples.astype("<i2").tobytes()


def _call_audio(rate: int) -> npt.NDArray[np.int16]:
    """3.6 s of 'call': quiet noise, two voiced bursts (harmonics + noise), pauses between."""
    rng = np.random.default_rng(1)
    t = np.arange(int(0.8 * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((180, 360, 540, 720), start=1))
    burst = (voiced * 6000 + rng.normal(0, 300, t.size)) * np.hanning(t.size)
    quiet = rng.normal(0, 30, int(0.7 * rate))
    audio = np.concatenate([quiet, burst, quiet, burst * 0.5, quiet])
    clipped: npt.NDArray[np.int16] = np.clip(audio, -32768, 32767).astype(np.int16)
    return clipped


class RecordingRecognizer:
    """Test double at the recognizer boundary: records exactly what the real pipeline feeds it."""

    sample_rate = 16000

    def __init__(self) -> None:
        self.pcm = bytearray()
        self.flushes: list[int] = []

    def accept(self, pcm: bytes) -> list[Any]:
        self.pcm += pcm
        return []

    def flush(self) -> list[Any]:
        self.flushes.append(len(self.pcm))
        return []


def _recognizer_input(chunks: list[bytes], encoding: str, rate: int, gate: bool) -> RecordingRecognizer:
    """Run the server's per-channel pipeline: FrameAssembler → ChannelDecoder (resampler, voice gate)."""
    from assist.audio.channel import ChannelDecoder
    from assist.audio.vad import GateConfig

    recorder = RecordingRecognizer()
    decoder = ChannelDecoder(recorder, rate, GateConfig(enabled=gate))
    assembler = FrameAssembler(encoding, 1)
    for chunk in chunks:
        frames = assembler.push(chunk)
        if frames.size:
            decoder.feed(frames[:, 0])
    decoder.finish()
    return recorder


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(sorted(BYTES_PER_SAMPLE)),
    st.sampled_from([8000, 16000]),
    st.booleans(),
    st.lists(st.integers(1, 120_000), min_size=1, max_size=300),
)
def test_the_recognizer_hears_the_same_audio_however_the_stream_is_split(
    encoding: str, rate: int, gate: bool, cuts: list[int]
) -> None:
    """Same audio, any split: same speech segments and the same samples reach the recognizer.

    Bit-exact at the model's rate.  When resampling (8 kHz telephone audio),
    libsoxr's streaming output differs by up to 2 LSB (-84 dBFS) with the chunking;
    segments and lengths stay identical.
    """
    data = _encode(_call_audio(rate), encoding)
    whole = _recognizer_input([data], encoding, rate, gate)
    split = _recognizer_input(_pieces(data, cuts), encoding, rate, gate)
    assert whole.pcm and len(split.pcm) == len(whole.pcm)
    assert split.flushes == whole.flushes
    if gate:
        assert len(whole.flushes) >= 2  # the two bursts are two segments
    a, b = np.frombuffer(bytes(whole.pcm), "<i2"), np.frombuffer(bytes(split.pcm), "<i2")
    if rate == RecordingRecognizer.sample_rate:
        assert np.array_equal(a, b)
    else:
        assert int(np.abs(a.astype(np.int32) - b).max()) <= 2
