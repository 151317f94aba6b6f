"""Training replay: stream a recorded call or a written transcript through the server (docs/training.md).

* ``replay_audio`` streams a recording (``WavAudio``) with the headset client's
  ``CallClient`` (mode ``training``): paced at ``speed`` × real time, or as fast
  as the server reads it (``speed`` 0), resumed if the connection drops.
* ``replay_transcript`` sends timed lines as a transcript-source call
  (``source: "transcript"``); the server releases them word by word at ``speed``.
* ``local_config`` is the configuration of the in-process server a local replay runs
  (``assist.app.local_server``, built like ``assist serve``) on 127.0.0.1, port 0.

Both replays hand every server event to ``on_event`` and return them all, so
``assist.training.report.build_report`` can turn them into the training report.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from assist.audio.wavread import Int16Array, WavAudio
from assist.headset.callclient import CallClient, CallFailed, ClientStatus
from assist.headset.history import AudioHistory
from assist.protocol.client_messages import parse_line
from assist.protocol.enums import CallMode, Role, Source
from assist.protocol.errors import ProtocolError
from assist.protocol.events import End, Start, TranscriptLine

if TYPE_CHECKING:
    from assist.settings import ServerConfig

EventHandler = Callable[[dict[str, Any]], None]
ProgressHandler = Callable[[float], None]  # audio seconds sent (audio) or released (transcript) so far

TRANSCRIPT_SAMPLE_RATE = 16000  # ``start`` needs a rate; a transcript call carries no audio
SPEEDS: dict[str, float] = {"1": 1.0, "2": 2.0, "max": 0.0}
END_MARGIN = 60.0  # seconds the server may take to finish decoding after the last audio
CALL_PATH = "/ws/call"  # the call endpoint; the overlay page is served beside it


class ReplayError(ValueError):
    """A replay input (transcript file, roles, stored call) is not usable; the message says why."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    call_id: str
    events: list[dict[str, Any]]  # every event received, in order
    ended: bool  # the server confirmed the end of the call
    summary: dict[str, Any] | None = None
    error: str | None = None  # why the replay stopped early


def fresh_call_id(content: bytes, now: float | None = None) -> str:
    """``replay-YYYYmmddTHHMMSS.mmmZ-<8 hex of the content's SHA-256>`` (UTC): new on every run.

    The letters keep every digit run short, so the privacy filter (11+ digits look like a
    phone or ID number) never masks the call id in stored prompts and alerts.
    """
    at = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"
    return f"replay-{stamp}-{hashlib.sha256(content).hexdigest()[:8]}"


def watch_url(call_url: str, call_id: str) -> str:
    """The overlay page that shows this replay as it runs: ``/?call=ID`` on the server of ``call_url``
    (ws://host:port/ws/call → http://host:port/?call=ID).  An agent's view (``/?agent=``) follows live
    calls only (docs/security.md), so a trainer watches a replay by its call id."""
    parts = urlsplit(call_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path[: -len(CALL_PATH)] if parts.path.endswith(CALL_PATH) else parts.path.rsplit("/", 1)[0]
    return urlunsplit((scheme, parts.netloc, (path or "") + "/", urlencode({"call": call_id}), ""))


def parse_roles(text: str) -> tuple[Role, ...]:
    """``agent,caller`` → ``(Role.AGENT, Role.CALLER)``; ReplayError for unknown or repeated roles."""
    names = tuple(r.strip() for r in text.split(",") if r.strip())
    if not names or len(names) > 2:
        raise ReplayError(f"--roles takes one or two of {', '.join(Role)}, not {text!r}")
    bad = [r for r in names if r not in tuple(Role)]
    if bad:
        raise ReplayError(f"--roles: unknown role(s) {', '.join(bad)}; use {', '.join(Role)}")
    if len(set(names)) != len(names):
        raise ReplayError("--roles names a role twice")
    return tuple(Role(r) for r in names)


def audio_roles(channels: int, roles: tuple[Role, ...] | None) -> tuple[Role, ...]:
    """The roles of a recording's channels: mono → ``mixed`` (or the one role given), stereo → agent, caller."""
    if channels == 1:
        if roles is None:
            return (Role.MIXED,)
        if len(roles) != 1:
            raise ReplayError(f"the recording is mono: --roles takes one role, not {','.join(roles)}")
        return roles
    roles = roles or (Role.AGENT, Role.CALLER)
    if len(roles) != 2 or Role.MIXED in roles:
        raise ReplayError("the recording is stereo: --roles takes two roles, agent and caller in channel order")
    return roles


# ---------------------------------------------------------------- transcripts


def parse_transcript(text: str, name: str = "transcript") -> list[TranscriptLine]:
    """JSON lines of ``{"role", "start", "end", "text"}`` (blank lines skipped).  ReplayError names the line."""
    lines: list[TranscriptLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise ReplayError(f"{name}, line {number}: not JSON ({exc.args[0] if exc.args else exc})") from exc
        if not isinstance(obj, dict):
            raise ReplayError(f"{name}, line {number}: expected an object with role, start, end, text")
        unknown = sorted(set(obj) - {"role", "start", "end", "text", "type"})
        if unknown:
            raise ReplayError(f"{name}, line {number}: unknown field(s) {', '.join(unknown)}")
        try:
            lines.append(parse_line(obj))
        except ProtocolError as exc:
            raise ReplayError(f"{name}, line {number}: {exc.message}") from exc
    if not lines:
        raise ReplayError(f"{name} holds no lines (JSON lines of role, start, end, text)")
    return lines


def lines_from_utterances(utterances: Sequence[dict[str, Any]]) -> list[TranscriptLine]:
    """A stored call's final utterances (``Store.utterances``) as transcript lines."""
    out = []
    for u in utterances:
        text = str(u.get("text") or "").strip()
        role = u.get("role")
        if text and isinstance(role, str) and role in tuple(Role):
            out.append(TranscriptLine(role=Role(role), start=float(u["start"]), end=float(u["end"]), text=text))
    return out


def transcript_roles(lines: Sequence[TranscriptLine], roles: tuple[Role, ...] | None) -> tuple[
        tuple[Role, ...], list[TranscriptLine]]:
    """The call's roles and the lines to send: only those of ``roles`` when given."""
    kept = [ln for ln in lines if roles is None or ln.role in roles]
    if not kept:
        raise ReplayError(f"no lines of role(s) {','.join(roles or ())} to replay")
    present = tuple(r for r in Role if any(ln.role == r for ln in kept))
    if Role.MIXED in present and len(present) > 1:
        raise ReplayError("the transcript mixes 'mixed' lines with agent/caller lines: one call cannot carry both")
    return present, kept


# ---------------------------------------------------------------- audio through the headset client


class RecordingSource:
    """A ``CaptureSource`` over a recording: all of it, in blocks (the client paces the sending)."""

    def __init__(self, audio: WavAudio, block_seconds: float = 1.0) -> None:
        self._audio = audio
        self._block = max(1, round(block_seconds * audio.sample_rate))
        self._stopped = False

    @property
    def sample_rate(self) -> int:
        return self._audio.sample_rate

    @property
    def channels(self) -> int:
        return self._audio.channels

    async def start(self) -> None:
        self._stopped = False

    async def stop(self) -> None:
        self._stopped = True

    async def __aiter__(self) -> AsyncIterator[Int16Array]:
        frames = self._audio.frames
        for i in range(0, len(frames), self._block):
            if self._stopped:
                return
            yield frames[i: i + self._block]
            await asyncio.sleep(0)


class _ProgressHistory(AudioHistory):
    """The client's audio history, telling ``on_sent`` how far the audio read for sending reaches."""

    def __init__(self, sample_rate: int, channels: int, max_seconds: float, on_sent: ProgressHandler) -> None:
        super().__init__(sample_rate, channels, max_seconds)
        self._on_sent = on_sent

    def read(self, position: int, max_frames: int) -> bytes:
        data = super().read(position, max_frames)
        self._on_sent((position + len(data) // self.frame_bytes) / self.sample_rate)
        return data


async def replay_audio(
    url: str,
    audio: WavAudio,
    roles: tuple[Role, ...],
    *,
    call_id: str,
    agent_id: str,
    speed: float,
    on_event: EventHandler,
    on_status: Callable[[ClientStatus], None] | None = None,
    on_progress: ProgressHandler | None = None,
    token: str | None = None,
    mode: CallMode = CallMode.TRAINING,
) -> ReplayResult:
    """Stream ``audio`` to the call endpoint ``url`` as a training call (``mode``: or a live one, a drill the
    supervisors see); ``speed`` 0 = as fast as possible."""
    events: list[dict[str, Any]] = []

    def collect(event: dict[str, Any]) -> None:
        events.append(event)
        on_event(event)

    start = Start(call_id=call_id, agent_id=agent_id, sample_rate=audio.sample_rate, channels=audio.channels,
                  roles=roles, mode=mode)
    sending = audio.duration / speed if speed else 0.0
    connected = False
    failure: list[str] = []
    task: asyncio.Task[Any] | None = None

    def status(news: ClientStatus) -> None:
        nonlocal connected
        if news.kind == "connected":
            connected = True
        if news.kind == "disconnected" and not connected and task is not None:
            failure.append(f"cannot reach the server at {url}: {news.message}")
            task.cancel()  # a replay does not wait for a server that was never there
            return
        if on_status is not None:
            on_status(news)

    client = CallClient(
        url, start, RecordingSource(audio), collect, on_status=status, token=token,
        history_seconds=audio.duration + 2.0,  # the whole recording: nothing is lost on a reconnect
        end_timeout=sending + max(END_MARGIN, audio.duration),
        max_speed=speed or None,
    )
    client.history = _ProgressHistory(audio.sample_rate, audio.channels, audio.duration + 2.0,
                                      on_progress or (lambda _s: None))
    task = asyncio.create_task(client.run(), name=f"replay {call_id}")
    try:
        result = await task
    except asyncio.CancelledError:
        if not failure:
            raise
        return ReplayResult(call_id, events, False, None, failure[0])
    error = result.error
    if error is None and result.timed_out:
        error = "the server did not confirm the end of the call in time"
    return ReplayResult(call_id, events, result.ended, result.summary, error)


# ---------------------------------------------------------------- transcripts over the call socket


async def replay_transcript(
    url: str,
    lines: Sequence[TranscriptLine],
    roles: tuple[Role, ...],
    *,
    call_id: str,
    agent_id: str,
    speed: float,
    on_event: EventHandler,
    on_progress: ProgressHandler | None = None,
    token: str | None = None,
    direct: bool = False,
    mode: CallMode = CallMode.TRAINING,
) -> ReplayResult:
    """Send timed lines as a transcript-source training call (``mode``: or a live one, a drill the supervisors
    see); the server releases them at ``speed``.

    ``direct``: never through a proxy of the environment (the demo's calls to its own server)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

    start = Start(call_id=call_id, agent_id=agent_id, sample_rate=TRANSCRIPT_SAMPLE_RATE, channels=len(roles),
                  roles=roles, mode=mode, source=Source.TRANSCRIPT, speed=speed)
    total = max(ln.end for ln in lines)
    deadline = (total / speed if speed else 0.0) + END_MARGIN
    events: list[dict[str, Any]] = []
    reached = 0.0
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        ws_cm = connect(url, additional_headers=headers, open_timeout=10, compression=None, max_size=2**22,
                        max_queue=1024, proxy=None if direct else True)
        async with asyncio.timeout(deadline):
            async with ws_cm as ws:
                await ws.send(start.to_json())
                for line in lines:
                    await ws.send(line.to_json())
                await ws.send(End().to_json())
                async for message in ws:
                    if isinstance(message, bytes):
                        continue
                    event = _event(message)
                    if event is None:
                        continue
                    kind = event.get("type")
                    if kind == "error" and event.get("fatal"):
                        raise CallFailed(f"the server refused the call ({event.get('code')}): {event.get('message')}")
                    events.append(event)
                    on_event(event)
                    if kind == "transcript" and on_progress is not None:
                        end = event.get("end")
                        if isinstance(end, int | float) and end > reached:
                            reached = min(float(end), total)
                            on_progress(reached)
                    if kind == "ended":
                        summary = event.get("summary")
                        return ReplayResult(call_id, events, True, summary if isinstance(summary, dict) else None)
        return ReplayResult(call_id, events, False, None, "the server closed the connection before the end")
    except TimeoutError:
        return ReplayResult(call_id, events, False, None, f"the replay did not end within {deadline:.0f} s")
    except CallFailed as exc:
        return ReplayResult(call_id, events, False, None, str(exc))
    except InvalidStatus as exc:
        code = exc.response.status_code
        hint = ": check --token" if code in (401, 403) else ": check --url" if code == 404 else ""
        return ReplayResult(call_id, events, False, None, f"the server refused the connection (HTTP {code}){hint}")
    except InvalidURI as exc:
        return ReplayResult(call_id, events, False, None, f"invalid server URL {url!r}: {exc}")
    except (OSError, InvalidHandshake) as exc:
        return ReplayResult(call_id, events, False, None, f"cannot reach the server at {url}: {exc}")
    except ConnectionClosed as exc:
        return ReplayResult(call_id, events, False, None, f"connection lost: {exc}")


def _event(message: str) -> dict[str, Any] | None:
    try:
        event = json.loads(message)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


# ---------------------------------------------------------------- an in-process server


def local_config(base: ServerConfig, db_path: Path | None) -> ServerConfig:
    """``base`` (``ServerConfig.load``: the environment, like ``assist serve``) on 127.0.0.1, any free port,
    plain ws, no authentication, storing into ``db_path`` (None: no store)."""
    return base.replace(host="127.0.0.1", port=0, cert_path=None, key_path=None, auth="off",
                        insecure_no_auth=False, db_path=db_path, store=db_path is not None)
