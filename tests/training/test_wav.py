"""Reading recordings: WAV encodings, rates and channel layouts; bad files give a clear error."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from assist.audio.pcm import decode_alaw, decode_mulaw, encode_alaw, encode_mulaw
from assist.audio.wavread import WavError, parse_wav, read_wav, write_wav
from assist.training.replay import ReplayError, audio_roles, parse_roles
from tests.support.wav import riff


def tone(n: int, rate: int, freq: float = 440.0, level: float = 8000.0) -> np.ndarray:
    t = np.arange(n) / rate
    return np.round(level * np.sin(2 * np.pi * freq * t)).astype(np.int16)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_pcm16_mono_and_stereo_at_common_rates(tmp_path: Path, rate: int) -> None:
    left, right = tone(rate // 2, rate), tone(rate // 2, rate, 700.0)
    write_wav(tmp_path / "mono.wav", left, rate)
    mono = read_wav(tmp_path / "mono.wav")
    assert mono.sample_rate == rate and mono.channels == 1 and mono.duration == pytest.approx(0.5)
    assert np.array_equal(mono.frames[:, 0], left)
    write_wav(tmp_path / "stereo.wav", np.stack([left, right], axis=1), rate)
    stereo = read_wav(tmp_path / "stereo.wav")
    assert stereo.channels == 2 and np.array_equal(stereo.frames[:, 1], right)
    assert stereo.source_format == f"PCM 16-bit, {rate} Hz, stereo"


def test_g711_and_other_sample_formats() -> None:
    x = tone(800, 8000)
    mu = parse_wav(riff(7, 1, 8000, 8, encode_mulaw(x)))
    assert np.array_equal(mu.frames[:, 0], decode_mulaw(encode_mulaw(x))) and "mu-law" in mu.source_format
    al = parse_wav(riff(6, 2, 8000, 8, encode_alaw(np.stack([x, x], axis=1).reshape(-1))))
    assert al.channels == 2 and np.array_equal(al.frames[:, 0], decode_alaw(encode_alaw(x)))
    # 8-bit unsigned, 24-bit, 32-bit and float PCM all become int16 with the same waveform
    u8 = parse_wav(riff(1, 1, 8000, 8, ((x >> 8) + 128).astype(np.uint8).tobytes()))
    assert np.abs(u8.frames[:, 0].astype(int) - x).max() < 256
    as32 = x.astype("<i4") << 16
    p24 = b"".join(int(v).to_bytes(4, "little", signed=True)[1:] for v in as32)
    assert np.array_equal(parse_wav(riff(1, 1, 8000, 24, p24)).frames[:, 0], x)
    assert np.array_equal(parse_wav(riff(1, 1, 8000, 32, as32.tobytes())).frames[:, 0], x)
    f32 = (x / 32767.0).astype("<f4").tobytes()
    assert np.abs(parse_wav(riff(3, 1, 8000, 32, f32)).frames[:, 0].astype(int) - x).max() <= 1
    ext = parse_wav(riff(1, 2, 16000, 16, np.stack([x, x], axis=1).astype("<i2").tobytes(), extensible=True,
                         extra_chunks=b"LIST" + struct.pack("<I", 3) + b"abc\x00"))
    assert ext.channels == 2 and ext.sample_rate == 16000 and np.array_equal(ext.frames[:, 0], x)


def test_rates_beyond_the_server_range_are_resampled() -> None:
    x = tone(9600, 96000, 1000.0)
    high = parse_wav(riff(1, 1, 96000, 16, x.astype("<i2").tobytes()))
    assert high.sample_rate == 48000 and abs(len(high.frames) - 4800) <= 2
    low = parse_wav(riff(1, 1, 6000, 16, tone(600, 6000, 500.0).astype("<i2").tobytes()))
    assert low.sample_rate == 8000 and abs(low.duration - 0.1) < 0.002


@pytest.mark.parametrize("data, message", [
    (b"hello world, this is not audio", "not a WAV file"),
    (b"RIFX" + b"\x00" * 4 + b"WAVE", "big-endian"),
    (riff(1, 3, 16000, 16, b"\x00" * 12), "3 channels"),
    (riff(0x11, 1, 8000, 4, b"\x00" * 8), "format 0x0011"),
    (riff(1, 1, 16000, 16, b""), "no audio"),
    (riff(1, 1, 16000, 12, b"\x00" * 6), "not supported"),
    (b"RIFF\x10\x00\x00\x00WAVEdata\x04\x00\x00\x00\x00\x00\x00\x00", "no 'fmt ' chunk"),
])
def test_bad_files_say_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(WavError, match=message):
        parse_wav(data, "call.wav")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(WavError, match="cannot read"):
        read_wav(tmp_path / "missing.wav")


def test_a_cut_recording_keeps_its_audio() -> None:
    x = tone(1000, 16000)
    full = riff(1, 1, 16000, 16, x.astype("<i2").tobytes())
    cut = full[: len(full) - 501]  # the writer died: the data chunk says more than there is, odd byte count
    assert np.array_equal(parse_wav(cut).frames[:, 0], x[: len(parse_wav(cut).frames)])
    assert len(parse_wav(cut).frames) == 1000 - 251


def test_channel_roles() -> None:
    assert audio_roles(1, None) == ("mixed",)
    assert audio_roles(1, ("caller",)) == ("caller",)
    assert audio_roles(2, None) == ("agent", "caller")
    assert audio_roles(2, ("caller", "agent")) == ("caller", "agent")
    with pytest.raises(ReplayError, match="mono"):
        audio_roles(1, ("agent", "caller"))
    with pytest.raises(ReplayError, match="stereo"):
        audio_roles(2, ("mixed",))
    with pytest.raises(ReplayError, match="unknown role"):
        parse_roles("agent,boss")
    with pytest.raises(ReplayError, match="twice"):
        parse_roles("agent,agent")


def test_cli_bad_recordings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assist.cli import main

    junk = tmp_path / "call.wav"
    junk.write_bytes(b"ID3\x03\x00 this is an mp3")
    assert main(["replay", str(junk), "--local"]) == 2
    assert "call.wav is not a WAV file" in capsys.readouterr().err
    surround = tmp_path / "surround.wav"
    surround.write_bytes(riff(1, 6, 48000, 16, b"\x00" * 24))
    assert main(["replay", str(surround), "--url", "ws://127.0.0.1:9"]) == 2
    assert "6 channels" in capsys.readouterr().err
    stereo = tmp_path / "stereo.wav"
    write_wav(stereo, np.zeros((800, 2), np.int16), 8000)
    assert main(["replay", str(stereo), "--roles", "mixed", "--url", "ws://127.0.0.1:9"]) == 2
    assert "stereo: --roles takes two roles" in capsys.readouterr().err
    binary = tmp_path / "call.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    assert main(["replay", str(binary), "--local"]) == 2
    assert "neither a WAV file nor a UTF-8 transcript" in capsys.readouterr().err
