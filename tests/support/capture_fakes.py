"""Capture test doubles: ``FakeCapture`` (a ``CaptureSource`` over a generated signal) and
``fake_sounddevice`` (a stand-in ``sounddevice`` module whose input streams call their
callbacks from a thread, like PortAudio), so no test needs PortAudio.
"""

from __future__ import annotations

import asyncio
import threading
import time
import types
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


def ramp_signal(seconds: float, rate: int, channels: int) -> Int16Array:
    """A signal whose every sample tells its position: channel c at frame i is ±(i % 30000 + 1) + c.

    No sample is zero, so inserted silence and any shift or swap of channels show.
    """
    n = round(seconds * rate)
    base = (np.arange(n) % 30000 + 1).astype(np.int32)
    cols = [(base if c % 2 == 0 else -base) + (c // 2) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.int16)


def tone(freq: float, seconds: float, rate: int, amplitude: int = 8000) -> Int16Array:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


class FakeCapture:
    """Yields ``signal`` in blocks of ``block_seconds``, paced at ``speed`` × real time (0: no pacing).

    ``stop()`` ends the iteration at the current position, like a device being closed;
    ``fail_at`` (seconds of signal) raises ``RuntimeError`` there instead, like a device lost.
    """

    def __init__(
        self,
        signal: Int16Array,
        rate: int,
        *,
        block_seconds: float = 0.037,
        speed: float = 0.0,
        fail_at: float | None = None,
    ) -> None:
        self.signal = signal
        self._rate = rate
        self.block = max(1, round(block_seconds * rate))
        self.speed = speed
        self.fail_at = fail_at
        self.started = False
        self.stopped = asyncio.Event()
        self.position = 0

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return int(self.signal.shape[1])

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped.set()

    def __aiter__(self) -> AsyncIterator[Int16Array]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[Int16Array]:
        while self.position < len(self.signal) and not self.stopped.is_set():
            if self.fail_at is not None and self.position >= self.fail_at * self._rate:
                raise RuntimeError("device lost")
            block = self.signal[self.position : self.position + self.block]
            await asyncio.sleep(len(block) / self._rate / self.speed if self.speed else 0)
            if self.stopped.is_set():
                return
            self.position += len(block)
            yield block


# ---------------------------------------------------------------- fake sounddevice


@dataclass
class FakeDevice:
    name: str
    hostapi: int
    channels: int
    rate: int
    make: Callable[[int, int], Int16Array] | None = None  # (first frame, frames) -> (frames, channels)
    stall: tuple[float, float] | None = None  # (from s, to s): no callbacks, then the backlog at once
    speed: float = 1.0


class FakeStream:
    """Calls ``callback(indata, frames, time, status)`` from a thread with ``blocksize`` frames."""

    def __init__(self, module: Any, samplerate: float, blocksize: int, device: int, channels: int,
                 dtype: str, callback: Any, finished_callback: Any = None) -> None:
        dev = module.devices[device]
        assert dtype == "int16"
        assert channels <= dev.channels
        assert int(samplerate) == dev.rate
        self.dev, self.blocksize, self.callback, self.finished = dev, blocksize, callback, finished_callback
        self.channels = channels
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.frames_delivered = 0
        module.streams.append(self)

    def start(self) -> None:
        self._thread.start()

    def _block(self, first: int) -> Int16Array:
        if self.dev.make is None:
            return np.zeros((self.blocksize, self.channels), dtype=np.int16)
        block: Int16Array = self.dev.make(first, self.blocksize)[:, : self.channels]
        return block

    def _run(self) -> None:
        started = time.monotonic()
        first = 0
        backlog: list[Int16Array] = []
        while not self._stop.is_set():
            due = started + (first + self.blocksize) / self.dev.rate / self.dev.speed
            time.sleep(max(0.0, due - time.monotonic()))
            block = self._block(first)
            first += self.blocksize
            t = first / self.dev.rate
            if self.dev.stall is not None and self.dev.stall[0] <= t < self.dev.stall[1]:
                backlog.append(block)  # the host API holds the blocks back
                continue
            for held in [*backlog, block]:
                buffer = held.copy()
                self.callback(buffer, len(buffer), None, types.SimpleNamespace(input_overflow=False))
                buffer[:] = 12345  # PortAudio reuses its buffer: the callback must have copied
                self.frames_delivered += len(buffer)
            backlog.clear()
        if self.finished is not None:
            self.finished()

    def fail(self) -> None:
        """The device goes away: callbacks stop and ``finished_callback`` runs."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def close(self) -> None:
        self.stop()


class PortAudioError(Exception):
    pass


def fake_sounddevice(devices: list[FakeDevice], hostapis: tuple[str, ...] = ("ALSA", "PulseAudio"),
                     default_input: int = 0) -> types.ModuleType:
    """A module with the parts of sounddevice the client uses (``query_devices``, ``InputStream``…)."""
    module = types.ModuleType("sounddevice")
    module.devices = devices  # type: ignore[attr-defined]
    module.streams = []  # type: ignore[attr-defined]
    module.PortAudioError = PortAudioError  # type: ignore[attr-defined]

    def info(index: int) -> dict[str, Any]:
        d = devices[index]
        return {"name": d.name, "index": index, "hostapi": d.hostapi, "max_input_channels": d.channels,
                "max_output_channels": 0, "default_samplerate": float(d.rate)}

    def query_devices(device: int | None = None, kind: str | None = None) -> Any:
        if kind == "input":
            if default_input < 0:
                raise PortAudioError("no default input device")
            return info(default_input)
        if device is not None:
            return info(device)
        return [info(i) for i in range(len(devices))]

    def query_hostapis(index: int | None = None) -> Any:
        apis = tuple({"name": name, "devices": [], "default_input_device": default_input} for name in hostapis)
        return apis if index is None else apis[index]

    def input_stream(**kwargs: Any) -> FakeStream:
        return FakeStream(module, **kwargs)

    module.query_devices = query_devices  # type: ignore[attr-defined]
    module.query_hostapis = query_hostapis  # type: ignore[attr-defined]
    module.InputStream = input_stream  # type: ignore[attr-defined]
    return module
