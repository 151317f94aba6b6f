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
    parser.add_argument("--no-model", action="store_true",
                        help="run without a speech model: only transcript-source calls (training replays)")
    parser.add_argument("--db", metavar="PATH", help="SQLite database (default $ASSIST_DB, else var/assist.sqlite3)")
    parser.add_argument("--no-store", action="store_true", help="keep nothing on disk")
    parser.add_argument("--kb", metavar="FILE", help="knowledge base JSONL/CSV (default: the shipped sample)")
    parser.add_argument("--static-dir", metavar="DIR", help="overlay/dashboard files (default: client/)")
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
        "db_path": args.db,
        "store": "off" if args.no_store else None,
        "kb_path": args.kb,
        "static_dir": args.static_dir,
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
    factory: RecognizerFactory
    if args.no_model:
        from assist.audio.recognizer import NoModelFactory

        factory = NoModelFactory()
        log.info("no speech model: only transcript-source calls are accepted")
    else:
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
    try:
        pipeline_parts = _load_analysis(config)
    except ValueError as exc:  # DataError / KbError name the file and entry
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_serve(config, factory, pipeline_parts))


def _load_analysis(config: ServerConfig) -> Any:
    """The analysis engine (or None when disabled); loaded before the event loop starts."""
    if not config.analysis:
        return None
    from assist.nlp.analyzer import Analyzer

    return Analyzer.load(kb_path=config.kb_path)


async def open_pipeline(config: ServerConfig, analyzer: Any) -> Any:
    """The store (opened and migrated; calls left open by a crash marked interrupted) and the pipeline."""
    import logging
    import os

    from assist.nlp.analyzer import CallContext
    from assist.pipeline import AssistPipeline
    from assist.privacy import Redactor
    from assist.store import Store, resolve_db_path

    store = None
    if config.store:
        path = resolve_db_path(config.db_path, os.environ)
        store = await Store.open(path, keep_originals=config.keep_originals, synchronous=config.db_synchronous)
        interrupted = await store.mark_open_calls_interrupted()
        logging.getLogger("assist.server").info(
            "database %s%s", path, f" ({len(interrupted)} call(s) left open marked interrupted)" if interrupted else ""
        )
    return AssistPipeline(
        analyzer=analyzer,
        redactor=Redactor(keep_originals=config.keep_originals),
        store=store,
        context_factory=CallContext,
    )


async def _serve(config: ServerConfig, factory: RecognizerFactory, analyzer: Any) -> int:
    import asyncio
    import logging
    import signal

    from assist.server import AssistServer

    pipeline = await open_pipeline(config, analyzer)
    server = AssistServer(config, factory, pipeline=pipeline)
    try:
        await server.start()
    except OSError as exc:
        logging.getLogger("assist.server").error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        if pipeline.store is not None:
            await pipeline.store.close()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        if pipeline.store is not None:
            await pipeline.store.close()
    return 0
