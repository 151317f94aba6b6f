"""``assist client``: the operator's headset client (docs/client-capture.md).

Captures the microphone (role agent) and the caller's audio from a loopback or
monitor source (role caller) as one stereo call, or one device as a mono
``mixed`` call, streams it to the server and prints transcripts and prompts.
sounddevice, numpy and websockets are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assist.headset.callclient import CallClient, ClientResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_URL = "ws://127.0.0.1:8765/ws/call"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "client",
        help="headset client: stream the operator's mic and the caller's audio, print live prompts",
        description="Capture the operator's microphone (agent) and the caller's audio from a loopback/"
        "monitor source (caller) and stream them as one stereo call; print transcripts and prompts. "
        "With one device the call is mono ('mixed'). Ctrl-C ends the call. Needs the 'client' extra: "
        "pip install 'hotline-assist[client]' and the PortAudio library.",
        epilog="Environment: ASSIST_URL, ASSIST_AGENT, ASSIST_TOKEN (flags win). "
        "Find the devices with --list-devices; on Linux the caller's audio is the 'Monitor of …' source "
        "of the headset output, on Windows a '[Loopback]' device or 'Stereo Mix'. See docs/client-capture.md.",
    )
    parser.add_argument("--url", default=os.environ.get("ASSIST_URL", DEFAULT_URL),
                        help=f"server call endpoint (default {DEFAULT_URL}; a bare ws://host:port gets /ws/call)")
    parser.add_argument("--mic", metavar="DEVICE", help="microphone: index or part of the name (see --list-devices)")
    parser.add_argument("--loopback", metavar="DEVICE",
                        help="the caller's audio: loopback/monitor source of the headset output")
    parser.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    parser.add_argument("--agent", metavar="ID", default=os.environ.get("ASSIST_AGENT"),
                        help="agent id (default $ASSIST_AGENT, else the login name)")
    parser.add_argument("--call-id", metavar="ID", help="call id (default AGENT-YYYYmmdd-HHMMSS)")
    parser.add_argument("--rate", metavar="HZ", type=int, default=16000, help="call sample rate (default 16000)")
    parser.add_argument("--token", metavar="T", default=os.environ.get("ASSIST_TOKEN"),
                        help="bearer token (default $ASSIST_TOKEN; the variable keeps it out of `ps`)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colours (default auto: when stdout is a terminal and NO_COLOR is unset)")
    parser.set_defaults(func=run)


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def call_url(url: str) -> str:
    """``url`` with the call path added when it has none; ValueError when it is not ws:// or wss://."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"--url must be ws://HOST:PORT[/ws/call] or wss://…, not {url!r}")
    path = parts.path if parts.path not in ("", "/") else "/ws/call"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _check_id(value: str, flag: str) -> str:
    from assist.protocol.events import MAX_ID_LENGTH

    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise ValueError(f"{flag} must be 1 to {MAX_ID_LENGTH} printable characters")
    return value


def list_devices_text(devices: Any) -> str:
    lines = ["Input devices (* default, L likely loopback/monitor of an output):"]
    for dev in devices:
        mark = ("*" if dev.default else " ") + ("L" if dev.loopback else " ")
        lines.append(f" {mark} {dev.index:3d}  {dev.name}  [{dev.hostapi}, {dev.channels} ch, {dev.sample_rate} Hz]")
    if len(lines) == 1:
        lines.append("   (none)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import getpass
    import time

    from assist.headset.capture import (
        CaptureError,
        CaptureUnavailable,
        SoundDeviceCapture,
        default_input_device,
        find_device,
        list_input_devices,
        load_sounddevice,
    )
    from assist.protocol.events import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

    try:
        sd = load_sounddevice()
    except CaptureUnavailable as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        devices = list_input_devices(sd)
    except CaptureError as exc:
        return _fail(str(exc), EXIT_FAILED)
    if args.list_devices:
        print(list_devices_text(devices))
        return EXIT_OK
    try:
        url = call_url(args.url)
        if not MIN_SAMPLE_RATE <= args.rate <= MAX_SAMPLE_RATE:
            raise ValueError(f"--rate must be {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz")
        agent = _check_id(args.agent or getpass.getuser(), "--agent")
        call_id = _check_id(args.call_id or f"{agent}-{time.strftime('%Y%m%d-%H%M%S')}", "--call-id")
        chosen = [find_device(devices, spec) for spec in (args.mic, args.loopback) if spec is not None]
        if not chosen:
            chosen = [default_input_device(devices)]
        capture = SoundDeviceCapture(chosen, args.rate, sounddevice=sd)
    except (ValueError, CaptureError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    return _stream(args, url, agent, call_id, capture)


def _stream(args: argparse.Namespace, url: str, agent: str, call_id: str, capture: Any) -> int:
    import asyncio

    from assist.headset.callclient import CallClient, ClientStatus
    from assist.headset.capture import CaptureError
    from assist.headset.view import TerminalView
    from assist.protocol.enums import Role
    from assist.protocol.events import Start

    stereo = capture.channels == 2
    start = Start(
        call_id=call_id,
        agent_id=agent,
        sample_rate=capture.sample_rate,
        channels=capture.channels,
        roles=(Role.AGENT, Role.CALLER) if stereo else (Role.MIXED,),
    )
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    view = TerminalView(sys.stdout, color=color)
    client = CallClient(url, start, capture, view.on_event, on_status=view.on_status, token=args.token)
    names = [d.name for d in capture.devices]
    layout = f"agent ← {names[0]!r}, caller ← {names[1]!r}" if stereo else f"mixed ← {names[0]!r}"
    view.on_status(ClientStatus("info", f"call {call_id}, agent {agent}: {layout}, {capture.sample_rate} Hz; "
                                        "Ctrl-C ends the call"))
    try:
        result = asyncio.run(_run_with_signals(client))
    except asyncio.CancelledError:
        return _fail("interrupted: the call was not closed (the server keeps what it received)", EXIT_INTERRUPTED)
    except CaptureError as exc:
        return _fail(str(exc), EXIT_FAILED)
    inserted = [f"{role} {seconds:.1f} s" for role, seconds in zip(start.roles, capture.padded_seconds, strict=True)
                if seconds >= 0.1]
    if inserted:
        view.on_status(ClientStatus("info", "silence inserted to keep the devices in step: " + ", ".join(inserted)))
    if result.error is not None:
        return _fail(result.error, EXIT_FAILED)
    if result.timed_out:
        print("warning: the server did not confirm the end of the call; it keeps the audio it received",
              file=sys.stderr)
    return EXIT_OK


async def _run_with_signals(client: CallClient) -> ClientResult:
    """Run the call; the first Ctrl-C ends it properly, a second one gives up at once."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    presses = 0

    def interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            client.request_end()
        else:
            task.cancel()

    previous: Any = None
    use_loop = True
    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError):  # Windows event loops
        use_loop = False
        previous = signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(interrupt))
    try:
        return await client.run()
    finally:
        if use_loop:
            loop.remove_signal_handler(signal.SIGINT)
        else:
            signal.signal(signal.SIGINT, previous)
