"""``assist replay``: replay a recorded call, a transcript file or a stored call for training (docs/training.md).

The call goes through a running server (``--url``) or an in-process one
(``--local``, built like ``assist serve``) as a ``training`` call with a fresh
call id; the prompts are printed as they come (the headset client's terminal
view) with a progress bar on stderr, then the training report: readable
Chinese, or JSON with ``--json`` (then stdout holds only the report).
Heavy imports (numpy, websockets, the analysis engine, Vosk) stay inside ``run``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from assist.cli.common import DEFAULT_URL, EXIT_FAILED, EXIT_OK, EXIT_USAGE, call_url, check_id, fail

if TYPE_CHECKING:
    from assist.audio.recognizer import RecognizerFactory
    from assist.audio.wavread import WavAudio
    from assist.nlp.analyzer import Analyzer
    from assist.protocol.enums import Role
    from assist.protocol.events import TranscriptLine
    from assist.settings import ServerConfig
    from assist.training.replay import ReplayResult
    from assist.training.rules import TrainingRules

    LocalParts = tuple[ServerConfig, RecognizerFactory, Analyzer | None]  # the in-process server's parts



def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="training: replay a recording, transcript or stored call through the assist pipeline, with a report",
        description="Replay a recorded call (WAV), a transcript (JSON lines of role, start, end, text) or a "
        "stored call (--call ID) as a training call, print the prompts as they come and a training report "
        "(banned phrases, greetings, empathy steps, referrals, knowledge answers, category, emotion, alerts).",
        epilog="Environment: ASSIST_URL, ASSIST_TOKEN, ASSIST_AGENT; with --local also the ASSIST_* settings of "
        "`assist serve` (ASSIST_MODEL, ASSIST_KB, ...). Exit codes: 0 done, 1 the server refused or failed, "
        "2 bad input or usage. See docs/training.md.",
    )
    parser.add_argument("file", metavar="FILE", nargs="?", type=Path,
                        help="a WAV recording (mono or stereo) or a transcript .jsonl file")
    parser.add_argument("--call", metavar="ID", help="replay this stored call's final utterances instead of a file")
    parser.add_argument("--db", metavar="PATH", type=Path,
                        help="database of --call (default $ASSIST_DB, else var/assist.sqlite3)")
    parser.add_argument("--speed", choices=("1", "2", "max"), default="1",
                        help="1 = real time (default), 2 = twice as fast, max = as fast as the server takes it")
    parser.add_argument("--roles", metavar="LIST",
                        help="recording: the role of each channel (mono: one of agent/caller/mixed, default mixed; "
                        "stereo: default agent,caller); transcript: replay only these roles' lines")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", default=os.environ.get("ASSIST_URL", DEFAULT_URL),
                       help=f"server call endpoint (default $ASSIST_URL or {DEFAULT_URL})")
    where.add_argument("--local", action="store_true",
                       help="run an in-process server (model, analysis, settings as `assist serve`), temporary store")
    parser.add_argument("--model", metavar="DIR",
                        help="--local: Vosk model directory (default $ASSIST_MODEL, else the newest installed)")
    parser.add_argument("--kb", metavar="FILE", help="--local: knowledge base JSONL/CSV (default the shipped one)")
    parser.add_argument("--token", metavar="T", default=os.environ.get("ASSIST_TOKEN"),
                        help="bearer token, e.g. a trainer token (default $ASSIST_TOKEN)")
    parser.add_argument("--agent", metavar="ID", default=os.environ.get("ASSIST_AGENT", "trainee"),
                        help="agent id of the training call (default $ASSIST_AGENT or 'trainee')")
    parser.add_argument("--call-id", metavar="ID", help="call id (default replay-<time>-<hash of the input>)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (prompts go to stderr)")
    parser.add_argument("--live", action="store_true",
                        help="send it as a live call, a drill: the supervisors get its alerts and the operator's "
                        "overlay (/?agent=ID) shows it (default: a training call, no alerts)")
    parser.set_defaults(func=run)


def _fail(message: str, code: int) -> int:
    return fail(message, code, "assist replay")


class _Input:
    """What is replayed: a recording, or timed lines; ``content`` names it for the call id."""

    def __init__(self, label: str, content: bytes, audio: WavAudio | None = None,
                 lines: list[TranscriptLine] | None = None) -> None:
        self.label = label
        self.content = content
        self.audio = audio
        self.lines = lines


def run(args: argparse.Namespace) -> int:
    from assist.audio.wavread import WavError
    from assist.nlp.data import DataError
    from assist.training.replay import ReplayError, parse_roles
    from assist.training.rules import TrainingRules

    if args.file is None and args.call is None:
        return _fail("give a FILE (WAV recording or transcript .jsonl) or --call ID", EXIT_USAGE)
    if args.file is not None and args.call is not None:
        return _fail("give a FILE or --call ID, not both", EXIT_USAGE)
    if args.db is not None and args.call is None:
        return _fail("--db goes with --call", EXIT_USAGE)
    if not args.local and (args.model or args.kb):
        return _fail("--model and --kb configure the in-process server: use them with --local", EXIT_USAGE)
    try:
        url = None if args.local else call_url(args.url)
        agent = check_id(args.agent, "--agent")
        if args.call_id is not None:
            check_id(args.call_id, "--call-id")
        roles = parse_roles(args.roles) if args.roles else None
        rules = TrainingRules.load()
        source = _stored_input(args) if args.call is not None else _file_input(args.file)
    except (ReplayError, WavError, DataError, ValueError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except LookupError as exc:  # assist.store.db.NotFound
        return _fail(str(exc.args[0] if exc.args else exc), EXIT_FAILED)
    return _replay(args, url, agent, roles, source, rules)


def _file_input(path: Path) -> _Input:
    from assist.audio.wavread import WavError, parse_wav
    from assist.training.replay import ReplayError, parse_transcript

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if data[:4] in (b"RIFF", b"RIFX") or path.suffix.lower() in (".wav", ".wave"):
        audio = parse_wav(data, path.name)
        duration = audio.duration
        return _Input(f"{path.name} ({audio.source_format}, {duration:.1f} s)", data, audio=audio)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WavError(f"{path.name} is neither a WAV file nor a UTF-8 transcript (JSON lines)") from exc
    return _Input(path.name, data, lines=parse_transcript(text, path.name))


def _stored_input(args: argparse.Namespace) -> _Input:
    import asyncio

    from assist.store.db import NotFound, Store, StoreError, resolve_db_path
    from assist.training.replay import ReplayError, lines_from_utterances

    path = resolve_db_path(args.db)

    async def load() -> list[dict[str, Any]]:
        try:
            store = await Store.open(path, readonly=True)
        except StoreError as exc:
            raise ReplayError(str(exc)) from exc
        try:
            await store.get_call(args.call)  # NotFound for an unknown call
            return await store.utterances(args.call)
        finally:
            await store.close()

    try:
        utterances = asyncio.run(load())
    except NotFound as exc:
        raise LookupError(f"no call {args.call!r} in {path}") from exc
    lines = lines_from_utterances(utterances)
    if not lines:
        raise ReplayError(f"call {args.call!r} has no utterances with text to replay")
    content = "\n".join(f"{ln.role}\t{ln.start}\t{ln.end}\t{ln.text}" for ln in lines).encode()
    return _Input(f"stored call {args.call}", content, lines=lines)


def _replay(args: argparse.Namespace, url: str | None, agent: str, roles: tuple[Role, ...] | None,
            source: _Input, rules: TrainingRules) -> int:
    import asyncio

    from assist.training.replay import SPEEDS, ReplayError, audio_roles, fresh_call_id, transcript_roles

    speed = SPEEDS[args.speed]
    call_id = args.call_id or fresh_call_id(source.content)
    try:
        if source.audio is not None:
            call_roles = audio_roles(source.audio.channels, roles)
            lines = None
        else:
            assert source.lines is not None
            call_roles, lines = transcript_roles(source.lines, roles)
    except ReplayError as exc:
        return _fail(str(exc), EXIT_USAGE)
    local = None
    if args.local:
        from assist.audio.models import ModelError
        from assist.settings import ConfigError

        try:
            local = _local_parts(args, need_model=source.audio is not None)
        except (ConfigError, ModelError, ValueError) as exc:  # ValueError: DataError, KbError of the data files
            return _fail(str(exc), EXIT_USAGE)
    out = sys.stderr if args.json else sys.stdout
    result = asyncio.run(_stream(args, url, local, agent, call_id, call_roles, source, lines, speed, out))
    return _finish(args, result, rules)


def _local_parts(args: argparse.Namespace, *, need_model: bool) -> LocalParts:
    """(config, recognizer factory, analyzer) of the in-process server, resolved like ``assist serve``."""
    from assist.app import load_analyzer
    from assist.audio.recognizer import NoModelFactory
    from assist.settings import ServerConfig

    flags = {"model_dir": args.model, "kb_path": args.kb}
    config = ServerConfig.load(os.environ, flags)
    factory: RecognizerFactory
    if need_model:
        from assist.audio.models import resolve_model_dir
        from assist.audio.recognizer import VoskModelFactory

        factory = VoskModelFactory(resolve_model_dir(config.model_dir, os.environ, models_dir=config.models_path))
    else:
        factory = NoModelFactory()
    return config, factory, load_analyzer(config)


async def _stream(args: argparse.Namespace, url: str | None, local: LocalParts | None, agent: str,
                  call_id: str, roles: tuple[Role, ...], source: _Input, lines: list[TranscriptLine] | None,
                  speed: float, out: TextIO) -> ReplayResult:
    import logging
    import tempfile

    from assist.app import local_server
    from assist.headset.callclient import ClientStatus
    from assist.headset.view import TerminalView
    from assist.training.replay import local_config

    color = out.isatty() and "NO_COLOR" not in os.environ
    bar = _Bar(source.audio.duration if source.audio is not None else max(ln.end for ln in lines or ()))
    view = TerminalView(cast(TextIO, _BarSafeWriter(out, bar)), color=color, partials=False)
    speed_name = {1.0: "real time", 2.0: "2x", 0.0: "max"}[speed]
    if local is None:
        assert url is not None
        view.on_status(ClientStatus("info", f"replay {source.label} as call {call_id} ({', '.join(roles)}), "
                                            f"speed {speed_name} → {url}"))
        view.on_status(ClientStatus("info", _watch_line(url, call_id, agent if args.live else None)))
        try:
            return await _send(args, url, agent, call_id, roles, source, lines, speed, view, bar)
        finally:
            bar.close()
    config, factory, analyzer = local
    server_log = logging.getLogger("assist.web.server")
    level = server_log.level
    server_log.setLevel(logging.ERROR)  # no "authentication is off" warning for a private loopback server
    try:
        with tempfile.TemporaryDirectory(prefix="assist-replay-") as tmp:
            cfg = local_config(config, Path(tmp) / "replay.sqlite3")
            async with local_server(cfg, factory, analyzer) as server:
                target = server.url + "/ws/call"
                view.on_status(ClientStatus("info", f"replay {source.label} as call {call_id} ({', '.join(roles)}), "
                                                    f"speed {speed_name}, in-process server (model {factory.name})"))
                view.on_status(ClientStatus("info", _watch_line(target, call_id, agent if args.live else None)))
                return await _send(args, target, agent, call_id, roles, source, lines, speed, view, bar)
    finally:
        bar.close()
        server_log.setLevel(level)


def _watch_line(url: str, call_id: str, live_agent: str | None) -> str:
    from assist.training.replay import watch_url

    if live_agent is not None:  # a drill: the operator's overlay and the supervisors' dashboard show it
        return f"watch it at {watch_url(url, call_id)}, as the operator at /?agent={live_agent}, on /supervisor"
    return f"watch it at {watch_url(url, call_id)} (the trainee's /?agent= view shows live calls only)"


async def _send(args: argparse.Namespace, url: str, agent: str, call_id: str, roles: tuple[Role, ...],
                source: _Input, lines: list[TranscriptLine] | None, speed: float, view: Any, bar: _Bar) -> ReplayResult:
    from assist.protocol.enums import CallMode
    from assist.training.replay import replay_audio, replay_transcript

    mode = CallMode.LIVE if args.live else CallMode.TRAINING
    if source.audio is not None:
        return await replay_audio(url, source.audio, roles, call_id=call_id, agent_id=agent, speed=speed,
                                  on_event=view.on_event, on_status=view.on_status, on_progress=bar.to,
                                  token=args.token, mode=mode)
    assert lines is not None
    return await replay_transcript(url, lines, roles, call_id=call_id, agent_id=agent, speed=speed,
                                   on_event=view.on_event, on_progress=bar.to, token=args.token, mode=mode)


def _finish(args: argparse.Namespace, result: ReplayResult, rules: TrainingRules) -> int:
    import json

    from assist.protocol.decode import decode_events
    from assist.training.report import build_report
    from assist.training.report_text import render_text

    received = any(e.get("type") in ("transcript", "prompt") for e in result.events)
    if result.error is not None and not received:
        return _fail(result.error, EXIT_FAILED)
    report = build_report(decode_events(result.events), rules)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print()
        print(render_text(report))
    if result.error is not None:
        return _fail(f"{result.error} (the report covers what was received)", EXIT_FAILED)
    return EXIT_OK


class _Bar:
    """tqdm on stderr: audio seconds sent (recordings) or released (transcripts) of the total."""

    def __init__(self, total: float) -> None:
        from tqdm import tqdm

        self.total = max(total, 0.1)
        self._tqdm = tqdm(total=round(self.total, 1), unit="s", desc="replay", file=sys.stderr, disable=None,
                          leave=False, bar_format="{desc} {bar} {n:.1f}/{total:.1f} s audio [{elapsed}]")
        self._done = 0.0

    def to(self, seconds: float) -> None:
        seconds = min(round(seconds, 1), round(self.total, 1))
        if seconds > self._done:
            self._tqdm.update(seconds - self._done)
            self._done = seconds

    def pause(self) -> Any:
        return self._tqdm.external_write_mode(file=sys.stderr)

    def close(self) -> None:
        self._tqdm.close()


class _BarSafeWriter:
    """A text stream that lifts the progress bar out of the way of each line written."""

    def __init__(self, out: TextIO, bar: _Bar) -> None:
        self._out = out
        self._bar = bar

    def write(self, text: str) -> int:
        with self._bar.pause():
            return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()
