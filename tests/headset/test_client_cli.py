"""``assist client`` end to end: fake sounddevice devices, the fake call server in a thread, Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from assist.cli import main
from assist.cli.client import call_url
from tests.support.capture_fakes import FakeDevice, fake_sounddevice
from tests.support.fake_call_server import FakeCallServer, Utterance


class ThreadedServer:
    """The fake call server on its own event loop in a thread (the CLI runs asyncio.run itself)."""

    def __init__(self, server: FakeCallServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def __enter__(self) -> FakeCallServer:
        self.thread.start()
        self.call(self.server.start())
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


def ramp_device(name: str, rate: int, channels: int, sign: int) -> FakeDevice:
    def make(first: int, n: int) -> np.ndarray:
        mono = (sign * ((first + np.arange(n)) % 20000 + 1)).astype(np.int16)
        return np.repeat(mono[:, None], channels, axis=1)

    return FakeDevice(name, 0, channels, rate, make)


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> Any:
    sd = fake_sounddevice([
        ramp_device("Headset Microphone", 16000, 1, 1),
        ramp_device("Monitor of Headset", 16000, 2, -1),
    ], hostapis=("PulseAudio",), default_input=0)
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    return sd


@pytest.fixture
def ctrl_c_when() -> Iterator[Any]:
    """``ctrl_c_when(predicate)``: a watcher thread sends SIGINT to this process once ``predicate()`` holds."""
    watchers: list[threading.Thread] = []

    def arm(predicate: Any, timeout: float = 10.0) -> None:
        def watch() -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if predicate():
                    os.kill(os.getpid(), signal.SIGINT)
                    return
                time.sleep(0.02)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        watchers.append(thread)

    yield arm
    for thread in watchers:
        thread.join(timeout=10)


def test_stereo_call_from_two_devices_until_ctrl_c(
    devices: Any, ctrl_c_when: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    script = [Utterance("caller", 0.1, 0.3, "我 家 停水 了"), Utterance("agent", 0.4, 0.6, "您好 请 讲")]
    with ThreadedServer(FakeCallServer(script)) as server:
        ctrl_c_when(lambda: server.current is not None and server.current.audio_time() >= 1.0)
        code = main(["client", "--url", f"ws://127.0.0.1:{server.port}", "--mic", "microphone",
                     "--loopback", "monitor", "--agent", "A07", "--call-id", "c-42", "--color", "never"])
    assert code == 0
    conn = server.connections[0]
    start = conn.parsed_start
    assert (start.call_id, start.agent_id, start.sample_rate) == ("c-42", "A07", 16000)
    assert (start.channels, start.roles) == (2, ("agent", "caller"))
    assert conn.messages == [{"type": "end"}]  # Ctrl-C ended the call properly
    frames = np.frombuffer(bytes(conn.audio), dtype="<i2").reshape(-1, 2)
    assert len(frames) >= 16000
    # mic in channel 0, the monitor (stereo, averaged) in channel 1; in step but for the start alignment
    mic, caller = frames[:, 0], frames[:, 1]
    assert (mic[mic != 0] > 0).all() and (caller[caller != 0] < 0).all()
    np.testing.assert_array_equal(np.diff(mic[mic != 0][:15000].astype(np.int32)), 1)
    out = capsys.readouterr().out
    assert "[00:00] 来电人: 我家停水了" in out and "[00:00] 坐席: 您好请讲" in out
    assert "■ 通话结束 c-42" in out and "\x1b" not in out


def test_one_device_gives_a_mono_mixed_call(devices: Any, ctrl_c_when: Any) -> None:
    with ThreadedServer(FakeCallServer()) as server:
        ctrl_c_when(lambda: server.current is not None and server.current.audio_time() >= 0.3)
        code = main(["client", "--url", server.url, "--agent", "A07"])  # the default input device
    assert code == 0
    start = server.connections[0].parsed_start
    assert (start.channels, start.roles) == (1, ("mixed",))
    assert start.call_id.startswith("A07-")


def test_list_devices(devices: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["client", "--list-devices"]) == 0
    out = capsys.readouterr().out
    assert " *    0  Headset Microphone  [PulseAudio, 1 ch, 16000 Hz]" in out
    assert "  L   1  Monitor of Headset  [PulseAudio, 2 ch, 16000 Hz]" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--mic", "nothing"], "no input device matches 'nothing'"),
    (["--mic", "0", "--loopback", "0"], "different devices"),
    (["--rate", "5000"], "--rate must be 8000 to 48000"),
    (["--url", "http://x"], "--url must be ws://"),
    (["--agent", "a\tb"], "--agent must be"),
])
def test_usage_errors(devices: Any, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["client", *args]) == 2
    assert message in capsys.readouterr().err


def test_call_url() -> None:
    assert call_url("ws://h:8765") == "ws://h:8765/ws/call"
    assert call_url("wss://h/") == "wss://h/ws/call"
    assert call_url("ws://h:1/custom/path?x=1") == "ws://h:1/custom/path?x=1"
