"""Capture without PortAudio: the lazy sounddevice import, device listing/selection, and
SoundDeviceCapture driven by a fake sounddevice module (threads calling the callbacks)."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from assist.cli import main
from assist.headset.capture import (
    CaptureError,
    CaptureUnavailable,
    DeviceInfo,
    SoundDeviceCapture,
    find_device,
    is_loopback_name,
    list_input_devices,
    load_sounddevice,
    to_mono,
)
from tests.support.capture_fakes import FakeDevice, fake_sounddevice, tone

RATE = 16000


def sine_device(name: str, freq: float, rate: int, channels: int, offset: int = 0, **kw: object) -> FakeDevice:
    def make(first: int, n: int) -> np.ndarray:
        t = (first + np.arange(n)) / rate
        mono = (offset + 8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
        return np.repeat(mono[:, None], channels, axis=1)

    return FakeDevice(name, 1, channels, rate, make, **kw)  # type: ignore[arg-type]


def dominant(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.fixture
def no_sounddevice(monkeypatch: pytest.MonkeyPatch) -> None:
    """sounddevice cannot be imported, and the client modules are imported afresh."""
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    for name in ("assist.headset.capture", "assist.cli.client", "assist.headset.callclient", "assist.headset.view"):
        monkeypatch.delitem(sys.modules, name, raising=False)


# ---------------------------------------------------------------- without sounddevice / PortAudio


def test_import_capture_without_sounddevice(no_sounddevice: None) -> None:
    capture = importlib.import_module("assist.headset.capture")
    importlib.import_module("assist.cli.client")
    importlib.import_module("assist.headset.callclient")
    assert sys.modules["sounddevice"] is None  # nobody tried to replace the blocked module
    with pytest.raises(capture.CaptureUnavailable, match=r"pip install 'hotline-assist\[client\]'"):
        capture.load_sounddevice()


def test_client_help_without_sounddevice(no_sounddevice: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["client", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--url", "--mic", "--loopback", "--list-devices", "--agent", "--call-id", "--rate", "--token"):
        assert flag in out


def test_list_devices_without_sounddevice_says_how_to_install(
    no_sounddevice: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["client", "--list-devices"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'hotline-assist[client]'" in err and "PortAudio" in err and "libportaudio2" in err


def test_list_devices_without_the_portaudio_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # sounddevice installed, libportaudio missing: its import raises OSError, as the real one does
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    with pytest.raises(CaptureUnavailable, match="PortAudio library was not found"):
        load_sounddevice()
    assert main(["client", "--list-devices"]) == 2
    assert "hotline-assist[client]" in capsys.readouterr().err


# ---------------------------------------------------------------- devices

DEVICES = [
    FakeDevice("Built-in Audio Analog Stereo", 1, 2, 48000),
    FakeDevice("Monitor of Built-in Audio Analog Stereo", 1, 2, 44100),
    FakeDevice("Jabra EVOLVE 20 Mono", 1, 1, 16000),
    FakeDevice("Jabra EVOLVE 20 Mono", 0, 1, 16000),
    FakeDevice("Speakers (Realtek) [Loopback]", 1, 2, 48000),
]


def test_loopback_names() -> None:
    for name in ("Monitor of Built-in Audio Analog Stereo", "Stereo Mix (Realtek High Definition Audio)",
                 "立体声混音 (Realtek)", "Speakers (Realtek) [Loopback]", "CABLE Output (VB-Audio)", "BlackHole 2ch"):
        assert is_loopback_name(name), name
    for name in ("Microphone (USB Audio)", "Jabra EVOLVE 20 Mono", "default", "pulse"):
        assert not is_loopback_name(name), name


def test_list_and_find_devices() -> None:
    sd = fake_sounddevice(DEVICES, hostapis=("ALSA", "PulseAudio"), default_input=0)
    devices = list_input_devices(sd)
    assert [(d.index, d.loopback, d.default) for d in devices] == [
        (0, False, True), (1, True, False), (2, False, False), (3, False, False), (4, True, False)]
    assert devices[1].hostapi == "PulseAudio" and devices[1].sample_rate == 44100
    assert find_device(devices, "monitor").index == 1
    assert find_device(devices, "3").index == 3
    assert find_device(devices, "jabra").index == 2  # listed under two host APIs: the default one wins
    with pytest.raises(CaptureError, match="several input devices"):
        find_device(devices, "built-in audio")
    with pytest.raises(CaptureError, match="no input device matches"):
        find_device(devices, "nothing like this")
    with pytest.raises(CaptureError, match="no input device with index 9"):
        find_device(devices, "9")


def test_to_mono_copies_and_averages() -> None:
    block = np.array([[100, 300], [-100, -301]], dtype=np.int16)
    np.testing.assert_array_equal(to_mono(block), [200, -200])
    single = np.array([[5], [6]], dtype=np.int16)
    mono = to_mono(single)
    single[:] = 0
    np.testing.assert_array_equal(mono, [5, 6])


# ---------------------------------------------------------------- SoundDeviceCapture with a fake PortAudio


def info(sd: object, index: int) -> DeviceInfo:
    return next(d for d in list_input_devices(sd) if d.index == index)  # type: ignore[arg-type]


async def collect(capture: SoundDeviceCapture, seconds: float) -> np.ndarray:
    blocks: list[np.ndarray] = []

    async def read() -> None:
        async for block in capture:
            blocks.append(block)

    await capture.start()
    reader = asyncio.create_task(read())
    await asyncio.sleep(seconds)
    await capture.stop()
    await asyncio.wait_for(reader, 5)
    return np.concatenate(blocks)


async def test_two_devices_become_one_stereo_stream_at_the_call_rate() -> None:
    mic = sine_device("USB Headset Microphone", 440, 48000, 1, speed=4.0)
    monitor = sine_device("Monitor of USB Headset", 1000, 44100, 2, speed=4.0)
    sd = fake_sounddevice([mic, monitor], default_input=0)
    capture = SoundDeviceCapture([info(sd, 0), info(sd, 1)], RATE, sounddevice=sd)
    assert capture.channels == 2 and capture.sample_rate == RATE
    out = await collect(capture, 0.5)  # about 2 s of audio at 4x
    assert out.dtype == np.int16 and out.ndim == 2 and out.shape[1] == 2
    streams = sd.streams
    assert [s.channels for s in streams] == [1, 2]
    captured = max(s.frames_delivered / s.dev.rate for s in streams)
    assert len(out) == pytest.approx(captured * RATE, abs=0.25 * RATE)  # resampled to 16 kHz, in step
    assert dominant(out[1600:, 0], RATE) == pytest.approx(440, abs=5)  # channel 0: agent = mic
    assert dominant(out[1600:, 1], RATE) == pytest.approx(1000, abs=5)  # channel 1: caller = monitor
    assert not (out == 12345).any()  # PortAudio's reused buffers were copied in time
    assert abs(np.abs(out[1600:, 1]).max() - 8000) < 400  # the stereo monitor is averaged, not summed


async def test_an_idle_loopback_is_filled_with_silence() -> None:
    # never-zero signals at the call rate (no resampling): every zero in the output is inserted silence
    mic = sine_device("mic", 440, RATE, 1, offset=10000, speed=4.0)
    loop = sine_device("Stereo Mix", 1000, RATE, 2, offset=-10000, speed=4.0, stall=(0.4, 1.6))
    sd = fake_sounddevice([mic, loop], default_input=0)
    capture = SoundDeviceCapture([info(sd, 0), info(sd, 1)], RATE, max_skew=0.2, sounddevice=sd)
    out = await collect(capture, 0.6)  # 2.4 s of audio; the loopback says nothing for 1.2 s of it
    mic_stream, loop_stream = sd.streams
    # the mic went on without waiting more than max_skew: the loopback got silence meanwhile
    assert capture.padded_seconds[1] >= 1.0
    # then the loopback's backlog arrived in a burst and the mic got silence instead: nothing dropped
    assert capture.padded_seconds[0] >= 0.8
    assert np.count_nonzero(out[:, 0]) == mic_stream.frames_delivered
    assert np.count_nonzero(out[:, 1]) == loop_stream.frames_delivered
    assert len(out) == mic_stream.frames_delivered + capture.padded_seconds[0] * RATE


async def test_a_device_going_away_ends_the_stream_with_an_error() -> None:
    mic = sine_device("mic", 440, 16000, 1, speed=4.0)
    sd = fake_sounddevice([mic], default_input=0)
    capture = SoundDeviceCapture([info(sd, 0)], RATE, sounddevice=sd)
    await capture.start()
    blocks = 0
    with pytest.raises(CaptureError, match="'mic' stopped"):
        async for block in capture:
            assert block.shape[1] == 1
            blocks += 1
            if blocks == 5:
                sd.streams[0].fail()
    await capture.stop()


def test_capture_refuses_the_same_device_twice() -> None:
    sd = fake_sounddevice([FakeDevice("mic", 0, 1, 16000)])
    with pytest.raises(CaptureError, match="different devices"):
        SoundDeviceCapture([info(sd, 0), info(sd, 0)], RATE, sounddevice=sd)


def test_tone_helper() -> None:
    assert dominant(tone(440, 1.0, RATE), RATE) == pytest.approx(440, abs=1)
