"""Audio capture for the headset client: the operator's microphone and the caller's audio.

``CaptureSource`` is what ``CallClient`` streams from: ``await start()``, then
``async for block in source`` gives int16 blocks of shape ``(n, channels)`` at
``sample_rate`` until ``await stop()`` (or the end of a finite source).

``SoundDeviceCapture`` captures one or two PortAudio input devices through
sounddevice, which is imported only inside the functions that need it: this
module imports without sounddevice or PortAudio (the server never needs them).
With two devices (mic, loopback) each runs its own input stream; every device is
downmixed to mono, resampled to the call rate (libsoxr) if its rate differs, and
the two are merged into one interleaved stereo stream by ``ChannelAligner``
(assist/align.py explains the drift handling).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from assist.headset.align import ChannelAligner

log = logging.getLogger(__name__)

Int16Array = npt.NDArray[np.int16]

INSTALL_HINT = (
    "install the client extra with: pip install 'hotline-assist[client]' "
    "(sounddevice), and the PortAudio library: apt-get install libportaudio2 on Debian/Ubuntu, "
    "dnf install portaudio on Fedora; the Windows and macOS sounddevice wheels include it"
)

# Names of capture devices that record what an output device plays.
_LOOPBACK = re.compile(
    r"monitor|loopback|stereo ?mix|立体声混音|what ?u ?hear|wave ?out mix|"
    r"cable output|blackhole|soundflower|voicemeeter out",
    re.IGNORECASE,
)


class CaptureUnavailable(RuntimeError):
    """sounddevice or the PortAudio library is missing."""


class CaptureError(RuntimeError):
    """A capture device cannot be found, opened or kept running."""


class CaptureSource(Protocol):
    """Live call audio: int16 blocks ``(n, channels)`` at ``sample_rate``."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    async def start(self) -> None:
        """Open the devices; blocks are produced from now on."""

    async def stop(self) -> None:
        """Stop capturing; iteration ends after the blocks still held."""

    def __aiter__(self) -> AsyncIterator[Int16Array]: ...


def load_sounddevice() -> ModuleType:
    """Import sounddevice, or raise ``CaptureUnavailable`` saying how to install it."""
    try:
        import sounddevice
    except ImportError as exc:
        raise CaptureUnavailable(f"sounddevice is not installed: {INSTALL_HINT}") from exc
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise CaptureUnavailable(f"the PortAudio library was not found ({exc}): {INSTALL_HINT}") from exc
    module: ModuleType = sounddevice
    return module


def is_loopback_name(name: str) -> bool:
    """True for names of monitor/loopback sources ("Monitor of …", "Stereo Mix", "… [Loopback]")."""
    return _LOOPBACK.search(name) is not None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    channels: int  # input channels
    sample_rate: int  # the device's default rate
    default: bool = False
    loopback: bool = False


def list_input_devices(sd: ModuleType) -> list[DeviceInfo]:
    """The input devices PortAudio knows, with likely loopback sources marked."""
    try:
        hostapis = [str(h["name"]) for h in sd.query_hostapis()]
        devices = list(sd.query_devices())
        try:
            default = int(sd.query_devices(kind="input")["index"])
        except Exception:  # no default input device
            default = -1
    except sd.PortAudioError as exc:
        raise CaptureError(f"cannot list audio devices: {exc}") from exc
    out: list[DeviceInfo] = []
    for position, dev in enumerate(devices):
        channels = int(dev["max_input_channels"])
        if channels < 1:
            continue
        index = int(dev.get("index", position))
        api = int(dev["hostapi"])
        name = str(dev["name"])
        out.append(
            DeviceInfo(
                index=index,
                name=name,
                hostapi=hostapis[api] if 0 <= api < len(hostapis) else str(api),
                channels=channels,
                sample_rate=round(float(dev["default_samplerate"])),
                default=index == default,
                loopback=is_loopback_name(name),
            )
        )
    return out


def default_input_device(devices: Sequence[DeviceInfo]) -> DeviceInfo:
    for dev in devices:
        if dev.default:
            return dev
    raise CaptureError("there is no default input device: choose one with --mic (see --list-devices)")


def find_device(devices: Sequence[DeviceInfo], spec: str) -> DeviceInfo:
    """A device by index or by a case-insensitive part of its name; clear errors otherwise.

    A name found under several host APIs (Windows lists most devices under MME,
    DirectSound, WASAPI and WDM-KS) is taken from the default input device's host
    API when that settles it; otherwise give the index.
    """
    spec = spec.strip()
    if spec.isdigit():
        for dev in devices:
            if dev.index == int(spec):
                return dev
        raise CaptureError(f"there is no input device with index {spec} (see --list-devices)")
    wanted = spec.casefold()
    found = [dev for dev in devices if wanted in dev.name.casefold()]
    exact = [dev for dev in found if dev.name.casefold() == wanted]
    found = exact or found
    if len(found) > 1:
        default_api = next((d.hostapi for d in devices if d.default), None)
        same_api = [dev for dev in found if dev.hostapi == default_api]
        if len(same_api) == 1:
            found = same_api
    if not found:
        raise CaptureError(f"no input device matches {spec!r} (see --list-devices)")
    if len(found) > 1:
        choices = "; ".join(f"{d.index}: {d.name} ({d.hostapi})" for d in found)
        raise CaptureError(f"{spec!r} matches several input devices, give the index: {choices}")
    return found[0]


def to_mono(block: npt.NDArray[Any]) -> Int16Array:
    """Average the channels of an int16 ``(n, channels)`` block; always a new array."""
    if block.ndim == 1:
        return np.array(block, dtype=np.int16)
    if block.shape[1] == 1:
        return np.array(block[:, 0], dtype=np.int16)
    mono: Int16Array = np.round(block.astype(np.float32).mean(axis=1)).astype(np.int16)
    return mono


class SoundDeviceCapture:
    """One or two PortAudio input devices as one call stream (mono, or stereo in device order).

    ``devices`` are the channels in order: ``(mic, loopback)`` for a stereo call.
    ``max_skew`` (seconds) bounds how far the channels may drift apart before
    silence is inserted into the lagging one (assist/align.py).  ``queue_blocks``
    bounds the blocks waiting for the reader; when it is full the oldest merged
    block is dropped and counted (``dropped_frames``): the event loop was stalled.
    """

    def __init__(
        self,
        devices: Sequence[DeviceInfo],
        sample_rate: int,
        *,
        block_seconds: float = 0.02,
        max_skew: float = 0.2,
        queue_blocks: int = 200,
        sounddevice: ModuleType | None = None,
    ) -> None:
        if not 1 <= len(devices) <= 2:
            raise ValueError("capture needs one or two devices")
        if len({d.index for d in devices}) != len(devices):
            raise CaptureError("the microphone and the loopback source must be different devices")
        self.devices = tuple(devices)
        self._rate = sample_rate
        self._block_seconds = block_seconds
        self._max_skew = max_skew
        self._sd = sounddevice
        self._queue: asyncio.Queue[Int16Array | BaseException | None] = asyncio.Queue(queue_blocks)
        self._aligner = ChannelAligner(len(devices), round(max_skew * sample_rate))
        self._resamplers: list[Any] = []
        self._streams: list[Any] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._closed = False
        self.overflows = 0  # PortAudio reported lost input samples
        self.dropped_frames = 0

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return len(self.devices)

    @property
    def padded_seconds(self) -> tuple[float, ...]:
        """Silence inserted per channel to keep them in step."""
        return tuple(p / self._rate for p in self._aligner.padded)

    async def start(self) -> None:
        if self._loop is not None:
            raise RuntimeError("capture already started")
        from assist.audio.resample import StreamResampler

        sd = self._sd or load_sounddevice()
        self._loop = asyncio.get_running_loop()
        self._resamplers = [StreamResampler(d.sample_rate, self._rate) for d in self.devices]
        try:
            streams = await asyncio.to_thread(self._open, sd)
        except (sd.PortAudioError, ValueError) as exc:
            raise CaptureError(f"cannot open the capture device(s): {exc}") from exc
        if self._stopping:  # stop() came while the devices were opening
            await asyncio.to_thread(_close_streams, streams)
        else:
            self._streams = streams

    def _open(self, sd: ModuleType) -> list[Any]:
        streams: list[Any] = []
        try:
            for channel, dev in enumerate(self.devices):
                stream = sd.InputStream(
                    samplerate=dev.sample_rate,
                    blocksize=max(1, round(dev.sample_rate * self._block_seconds)),
                    device=dev.index,
                    channels=min(dev.channels, 2),
                    dtype="int16",
                    callback=self._callback_for(channel),
                    finished_callback=self._finished_for(channel),
                )
                streams.append(stream)
            for stream in streams:
                stream.start()
        except BaseException:
            for stream in streams:
                with contextlib.suppress(Exception):
                    stream.close()
            raise
        return streams

    def _callback_for(self, channel: int) -> Callable[..., None]:
        """The PortAudio callback of one device (runs on PortAudio's thread: copy, hand over, return)."""

        def callback(indata: npt.NDArray[np.int16], frames: int, time: Any, status: Any) -> None:
            block = to_mono(indata)  # always a new array: PortAudio reuses ``indata``
            self._post(self._deliver, channel, block, bool(getattr(status, "input_overflow", False)))

        return callback

    def _finished_for(self, channel: int) -> Callable[[], None]:
        def finished() -> None:
            self._post(self._device_finished, channel)

        return finished

    def _post(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(func, *args)

    def _deliver(self, channel: int, block: Int16Array, overflow: bool) -> None:
        if self._closed:
            return
        if overflow:
            self.overflows += 1
        self._put(self._aligner.push(channel, self._resamplers[channel].process(block)))

    def _device_finished(self, channel: int) -> None:
        if not self._stopping and not self._closed:
            name = self.devices[channel].name
            self._put_final(CaptureError(f"the capture device {name!r} stopped (unplugged or failed)"))

    def _put(self, frames: Int16Array) -> None:
        if not len(frames):
            return
        if self._queue.full():
            dropped = self._queue.get_nowait()
            if isinstance(dropped, np.ndarray):
                self.dropped_frames += len(dropped)
        self._queue.put_nowait(frames)

    def _put_final(self, item: BaseException | None) -> None:
        """Queue the end of the stream (never dropped: room is made for it)."""
        self._closed = True
        while self._queue.full():
            dropped = self._queue.get_nowait()
            if isinstance(dropped, np.ndarray):
                self.dropped_frames += len(dropped)
        self._queue.put_nowait(item)

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        streams, self._streams = self._streams, []
        await asyncio.to_thread(_close_streams, streams)
        if self._closed:
            return
        # Callbacks that ran before the streams closed are queued on the loop: let them land.
        await asyncio.sleep(0)
        for channel, resampler in enumerate(self._resamplers):
            self._put(self._aligner.push(channel, resampler.flush()))
        self._put(self._aligner.flush())
        if self.overflows or self._aligner.corrections:
            log.info("capture: %d input overflow(s), silence inserted per channel %s s", self.overflows,
                     [round(s, 3) for s in self.padded_seconds])
        self._put_final(None)

    def __aiter__(self) -> AsyncIterator[Int16Array]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[Int16Array]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def _close_streams(streams: Sequence[Any]) -> None:
    for stream in streams:
        with contextlib.suppress(Exception):
            stream.stop()
        with contextlib.suppress(Exception):
            stream.close()
