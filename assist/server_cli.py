"""``assist serve``: run the streaming transcription server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assist.audio.recognizer import RecognizerFactory
    from assist.config import ServerConfig

EXIT_CONFIG = 2


def add_parser(subparsers: Any) -> None:
    from assist.config import describe_settings

    settings = "\n".join(f"  {env:32} default {dflt:10} {accepted}" for env, dflt, accepted in describe_settings())
    parser = subparsers.add_parser(
        "serve",
        help="run the websocket server (call audio in, live transcripts out)",
        description="Run the streaming transcription server. Protocol: docs/protocol.md.",
        epilog="Environment (flags win over variables):\n  ASSIST_MODEL                     "
        "model directory or name under models/\n" + settings,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", help="TCP port (default 8765; 0 = any free port)")
    parser.add_argument("--model", metavar="DIR", help="Vosk model directory (default: $ASSIST_MODEL, "
                        "else the newest model installed with `assist models`)")
    parser.add_argument("--max-calls", help="simultaneous calls accepted (default 64)")
    parser.add_argument("--decode-threads", help="decoding threads (default 0 = one per CPU core)")
    parser.add_argument("--no-gate", action="store_true", help="decode silence too (no voice gate)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import time

    from assist.audio.models import ModelError, resolve_model_dir
    from assist.config import ConfigError, ServerConfig

    flags: dict[str, str | None] = {
        "host": args.host,
        "port": args.port,
        "model_dir": args.model,
        "max_calls": args.max_calls,
        "decode_threads": args.decode_threads,
        "gate": "off" if args.no_gate else None,
        "log_level": args.log_level,
    }
    try:
        config = ServerConfig.load(os.environ, flags)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)  # no per-connection handshake noise
    log = logging.getLogger("assist.server")
    try:
        model_dir = resolve_model_dir(config.model_dir, os.environ)
        from assist.audio.recognizer import VoskModelFactory

        began = time.perf_counter()
        factory = VoskModelFactory(model_dir)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    log.info("model %s (%d Hz) loaded from %s in %.1f s", factory.name, factory.sample_rate, model_dir,
             time.perf_counter() - began)
    return asyncio.run(_serve(config, factory))


async def _serve(config: ServerConfig, factory: RecognizerFactory) -> int:
    import asyncio
    import logging
    import signal

    from assist.server import AssistServer

    server = AssistServer(config, factory)
    try:
        await server.start()
    except OSError as exc:
        logging.getLogger("assist.server").error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
