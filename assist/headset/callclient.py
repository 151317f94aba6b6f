"""Streams one live call to the server, surviving server restarts (docs/client-capture.md).

``CallClient`` reads blocks from a ``CaptureSource`` into an ``AudioHistory``
ring buffer and sends it to ``/ws/call`` as 100 ms binary frames.  The unsent
part of the ring buffer is the send queue: capture never waits for the
network, and the queue is bounded by the history length.  Server events
(``ready``, ``transcript``, ``prompt``, ``call_state``, ``alert``, ``error``,
``ended`` and any later types) go to ``on_event`` as parsed JSON objects,
minus the replays of audio already shown (``TranscriptLedger``).

When the connection drops, the client reconnects with exponential back-off
(0.5 s doubling to 10 s, with jitter) and sends ``start`` again with the same
``call_id`` and ``resume_from`` = the earliest audio time not yet covered by a
final transcript of every role, then re-sends the audio from there.  The end
of the capture (``request_end``, e.g. Ctrl-C, or a finite source running out)
flushes the audio, sends ``end`` and waits up to ``end_timeout`` for ``ended``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from assist.headset.capture import CaptureSource
from assist.headset.history import AudioHistory, TranscriptLedger, floor_to_ms
from assist.headset.pacing import Backoff, Pacer
from assist.protocol.errors import ErrorCode
from assist.protocol.events import End, Start
from assist.protocol.pace import BURST_SECONDS, LIVE_MAX_SPEED

EventHandler = Callable[[dict[str, Any]], None]

# Fatal errors worth a new connection: the same call can go on once the cause is gone.
RETRYABLE: frozenset[str] = frozenset({
    ErrorCode.CALL_IN_PROGRESS,  # the restarted server still finishes the old socket of this call
    ErrorCode.TOO_MANY_CALLS,
    ErrorCode.INTERNAL,
    ErrorCode.RATE_LIMITED,
})


@dataclass(frozen=True, slots=True)
class ClientStatus:
    """Connection news for the operator.

    ``kind``: ``connecting``, ``connected``, ``disconnected``, ``retrying``
    (``delay`` seconds until the next attempt), ``warning`` or ``ending``.
    """

    kind: str
    message: str
    delay: float | None = None


@dataclass(frozen=True, slots=True)
class ClientResult:
    ended: bool  # the server confirmed the end of the call with ``ended``
    summary: dict[str, Any] | None = None
    error: str | None = None  # why the call stopped early (fatal server error, capture failure)
    timed_out: bool = False  # the end was not confirmed within ``end_timeout`` (server unreachable)
    connections: int = 0  # connections that were opened


class CallFailed(Exception):
    """A fatal error that reconnecting cannot cure (bad request, refused credentials)."""


class _Outcome(enum.Enum):
    ENDED = "ended"
    DISCONNECTED = "disconnected"
    RESYNC = "resync"  # unsent audio left the history: reconnect at once, resuming after the gap
    TIMEOUT = "timeout"


class _Resync(Exception):
    pass


class CallClient:
    """One call, streamed from ``source`` to the ``/ws/call`` endpoint at ``url``.

    ``start`` describes the stream (``call_id``, roles, rate; ``resume_from`` is
    set by the client).  ``await run()`` returns when the call has ended, the end
    timed out, or a fatal error stopped it.  ``request_end()`` stops the capture;
    the call then ends normally.
    """

    def __init__(
        self,
        url: str,
        start: Start,
        source: CaptureSource,
        on_event: EventHandler,
        *,
        on_status: Callable[[ClientStatus], None] | None = None,
        token: str | None = None,
        frame_seconds: float = 0.1,
        history_seconds: float = 30.0,
        backoff: Backoff | None = None,
        end_timeout: float = 10.0,
        open_timeout: float = 10.0,
        max_speed: float | None = LIVE_MAX_SPEED,
    ) -> None:
        if start.encoding != "pcm_s16le" or start.source != "audio":
            raise ValueError("the call client streams pcm_s16le audio")
        if source.channels != start.channels or source.sample_rate != start.sample_rate:
            raise ValueError(
                f"capture gives {source.channels} channel(s) at {source.sample_rate} Hz, "
                f"the call declares {start.channels} at {start.sample_rate} Hz"
            )
        self.url = url
        self.start = dataclasses.replace(start, resume_from=None)
        self.source = source
        self.on_event = on_event
        self.on_status = on_status
        self.token = token
        self.frame = max(1, round(frame_seconds * start.sample_rate))
        self.history = AudioHistory(start.sample_rate, start.channels, history_seconds)
        self.ledger = TranscriptLedger()
        self.backoff = backoff or Backoff()
        self.end_timeout = end_timeout
        self.open_timeout = open_timeout
        self.max_speed = max_speed
        self.connections = 0
        self.starts: list[Start] = []  # every start message sent, for diagnostics and tests
        self._started = False
        self._audio = asyncio.Event()
        self._capture_done = False
        self._capture_error: str | None = None
        self._end_deadline: float | None = None  # event-loop time
        self._recv_timeout: asyncio.Timeout | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._end_sent = False
        self._ready = asyncio.Event()

    # ------------------------------------------------------------ control

    def request_end(self) -> None:
        """Stop capturing; the client sends what it holds, then ``end``, and waits for ``ended``."""
        if self._stopping is None and not self._capture_done:
            self._status("ending", "ending the call…")
            self._stopping = asyncio.create_task(self.source.stop(), name="stop capture")

    async def run(self) -> ClientResult:
        """Capture and stream until the call ends; raises ``CaptureError`` if capture cannot start."""
        await self.source.start()
        capture = asyncio.create_task(self._capture(), name="capture")
        error: str | None = None
        summary: dict[str, Any] | None = None
        ended = timed_out = False
        try:
            while True:
                try:
                    outcome, summary = await self._connection()
                except CallFailed as exc:
                    error = str(exc)
                    break
                if outcome is _Outcome.ENDED:
                    ended = True
                    break
                if outcome is _Outcome.TIMEOUT or self._deadline_passed():
                    timed_out = True
                    break
                delay = 0.0 if outcome is _Outcome.RESYNC else self.backoff.next()
                self._status("retrying", f"reconnecting in {delay:.1f} s", delay)
                await self._sleep(delay)
        finally:
            if not self._capture_done:
                await self.source.stop()
            if self._stopping is not None:
                await self._stopping
            capture.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await capture
        if error is None and self._capture_error is not None:
            error = self._capture_error
        return ClientResult(ended, summary, error, timed_out, self.connections)

    # ------------------------------------------------------------ capture

    async def _capture(self) -> None:
        try:
            async for block in self.source:
                self.history.append(block)
                self._audio.set()
        except Exception as exc:  # a device failing mid-call: end the call with what was captured
            self._capture_error = f"capture failed: {exc}"
            self._status("warning", self._capture_error)
        finally:
            self._capture_done = True
            self._end_deadline = asyncio.get_running_loop().time() + self.end_timeout
            if self._recv_timeout is not None:  # a connection waits for events: it must not wait longer
                self._recv_timeout.reschedule(self._end_deadline)
            self._audio.set()

    # ------------------------------------------------------------ one connection

    def _remaining(self) -> float | None:
        if self._end_deadline is None:
            return None
        return max(0.0, self._end_deadline - asyncio.get_running_loop().time())

    def _deadline_passed(self) -> bool:
        remaining = self._remaining()
        return remaining is not None and remaining <= 0

    async def _sleep(self, delay: float) -> None:
        remaining = self._remaining()
        await asyncio.sleep(delay if remaining is None else min(delay, remaining))

    def _status(self, kind: str, message: str, delay: float | None = None) -> None:
        if self.on_status is not None:
            self.on_status(ClientStatus(kind, message, delay))

    def _resume_position(self) -> tuple[int, float | None]:
        """The frame to send from and the ``resume_from`` to announce (None: a fresh call)."""
        history = self.history
        if not self._started:
            return history.start, (history.seconds(history.start) if history.start else None)
        covered = self.ledger.resume_time(self.start.roles)
        frame = floor_to_ms(int(covered * history.sample_rate), history.sample_rate)
        frame = floor_to_ms(min(max(frame, history.start), history.end), history.sample_rate)
        frame = max(frame, history.start)  # start is on a millisecond boundary
        return frame, history.seconds(frame)

    async def _open(self) -> ClientConnection:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        try:
            return await connect(
                self.url,
                additional_headers=headers,
                open_timeout=self.open_timeout,
                compression=None,
                max_size=2**22,
                ping_interval=15,
                ping_timeout=15,
                close_timeout=5,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise CallFailed(f"the server refused the connection (HTTP {status}): check --token") from exc
            if status == 404:
                raise CallFailed(f"no call endpoint at {self.url} (HTTP 404): check --url") from exc
            raise
        except InvalidURI as exc:
            raise CallFailed(f"invalid server URL {self.url!r}: {exc}") from exc

    async def _connection(self) -> tuple[_Outcome, dict[str, Any] | None]:
        if self._deadline_passed():
            return _Outcome.TIMEOUT, None
        self._status("connecting", f"connecting to {self.url}")
        try:
            async with asyncio.timeout(self._remaining()):
                ws = await self._open()
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self._status("disconnected", f"cannot connect: {exc or type(exc).__name__}")
            return _Outcome.DISCONNECTED, None
        self.connections += 1
        async with ws:
            position, resume_from = self._resume_position()
            start = dataclasses.replace(self.start, resume_from=resume_from)
            try:
                await ws.send(start.to_json())
            except ConnectionClosed:
                return _Outcome.DISCONNECTED, None
            self.starts.append(start)
            self._started = True
            self._end_sent = False
            self._ready = asyncio.Event()
            self.ledger.begin_connection()
            receiver = asyncio.create_task(self._receive(ws), name="receive")
            sender = asyncio.create_task(self._send(ws, position), name="send")
            try:
                pending: set[asyncio.Task[Any]] = {receiver, sender}
                while receiver in pending:
                    _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    if sender not in pending and not sender.cancelled() and sender.exception() is not None:
                        if isinstance(sender.exception(), _Resync):
                            self._status("warning", "audio waited too long to be sent; resuming after the gap")
                            return _Outcome.RESYNC, None
                        sender.result()  # re-raise
                return receiver.result()
            finally:
                for task in (receiver, sender):
                    task.cancel()
                for task in (receiver, sender):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _send(self, ws: ClientConnection, position: int) -> None:
        """After ``ready``, send audio from frame ``position`` as it arrives, then ``end`` once capture is over.

        Waiting for ``ready`` costs nothing (the audio waits in the history) and
        keeps a refused start (``call_in_progress``) from being followed by
        seconds of audio the server would have to read before it can close.
        """
        history = self.history
        await self._ready.wait()
        pacer = Pacer(self.max_speed, BURST_SECONDS)
        try:
            while True:
                if position < history.start:
                    raise _Resync
                available = history.end - position
                if available >= self.frame or (self._capture_done and available > 0):
                    count = min(self.frame, available)
                    delay = pacer.take(history.seconds(count))
                    if delay > 0:
                        await asyncio.sleep(delay)
                        if position < history.start:  # forgotten while waiting
                            raise _Resync
                    await ws.send(history.read(position, count))
                    position += count
                elif self._capture_done:
                    await ws.send(End().to_json())
                    self._end_sent = True
                    return
                else:
                    self._audio.clear()
                    await self._audio.wait()
        except ConnectionClosed:
            return

    async def _receive(self, ws: ClientConnection) -> tuple[_Outcome, dict[str, Any] | None]:
        try:
            async with asyncio.timeout(self._end_deadline) as self._recv_timeout:
                return await self._events(ws)
        except TimeoutError:
            return _Outcome.TIMEOUT, None
        finally:
            self._recv_timeout = None

    async def _events(self, ws: ClientConnection) -> tuple[_Outcome, dict[str, Any] | None]:
        while True:
            try:
                message = await ws.recv()
            except ConnectionClosed as exc:
                self._status("disconnected", _closed_reason(exc))
                return _Outcome.DISCONNECTED, None
            if isinstance(message, bytes):
                continue
            try:
                event = json.loads(message)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            kind = event.get("type")
            if kind == "ready":
                self.backoff.reset()
                self._ready.set()
                resumed = self.starts[-1].resume_from
                note = f" (resumed from {resumed:.1f} s)" if event.get("resumed") and resumed is not None else ""
                self._status("connected", f"call {event.get('call_id')} streaming{note}")
            elif kind == "error" and event.get("fatal"):
                code, text = str(event.get("code")), str(event.get("message"))
                if code not in RETRYABLE:
                    raise CallFailed(f"the server refused the call ({code}): {text}")
                self._status("warning", f"server: {code}: {text}")
                continue  # the server closes the socket next; the call is resumed on a new one
            elif kind == "ended":
                summary = event.get("summary")
                summary = summary if isinstance(summary, dict) else None
                if self._end_sent:
                    self.on_event(event)
                    return _Outcome.ENDED, summary
                continue  # the server stopped the call (shutdown): it is resumed on a new socket
            if self.ledger.accept(event):
                self.on_event(event)


def _closed_reason(exc: ConnectionClosed) -> str:
    frame = exc.rcvd
    if frame is None:
        return "connection lost"
    return f"connection closed by the server ({frame.code}{': ' + frame.reason if frame.reason else ''})"
