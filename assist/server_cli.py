"""``assist serve``: run the streaming transcription server until SIGINT/SIGTERM.

SIGTERM (or Ctrl-C) stops accepting, gives every call ``shutdown_grace`` (8 s)
to send its last finals, stores the calls as interrupted and exits within 10 s.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assist.audio.recognizer import RecognizerFactory
    from assist.auth import TokenStore
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
    parser.add_argument("--nlp-model", metavar="DIR",
                        help="learned analysis model of `assist train` "
                             "(default $ASSIST_NLP_MODEL, else the shipped one)")
    parser.add_argument("--static-dir", metavar="DIR", help="overlay/dashboard files (default: client/)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    parser.add_argument("--json-logs", action="store_true", help="log one JSON object per line")
    security = parser.add_argument_group("security (docs/security.md)")
    security.add_argument("--tokens", metavar="FILE",
                          help="token file of `assist tokens` (default $ASSIST_TOKENS, else var/tokens.toml)")
    security.add_argument("--auth", choices=("auto", "on", "off"),
                          help="require tokens: auto (default) = on when the token file holds tokens")
    security.add_argument("--insecure-no-auth", action="store_true",
                          help="allow a server without authentication on a non-loopback address")
    security.add_argument("--allowed-origins", metavar="LIST",
                          help="comma-separated browser origins besides the server's own, e.g. https://ops.example.cn")
    security.add_argument("--cert", metavar="PEM", help="TLS certificate: serve wss:// and https://")
    security.add_argument("--key", metavar="PEM", help="TLS private key (if not in the --cert file)")
    security.add_argument("--live-max-speed", metavar="X",
                          help="throttle live audio above X times real time (default 2; 0 = no limit)")
    security.add_argument("--live-refuse-speed", metavar="X",
                          help="refuse live audio sustained above X times real time (default 4; 0 = never)")
    security.add_argument("--heartbeat-interval", metavar="S", help="ping every S seconds (default 15)")
    security.add_argument("--heartbeat-timeout", metavar="S",
                          help="close a peer that does not answer within S seconds (default 15)")
    security.add_argument("--shutdown-grace", metavar="S",
                          help="SIGTERM: seconds calls get to send their last finals (default 8)")
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
        "nlp_model": args.nlp_model,
        "static_dir": args.static_dir,
        "log_level": args.log_level,
        "json_logs": "on" if args.json_logs else None,
        "tokens_path": args.tokens,
        "auth": args.auth,
        "insecure_no_auth": "on" if args.insecure_no_auth else None,
        "allowed_origins": args.allowed_origins,
        "cert_path": args.cert,
        "key_path": args.key,
        "live_max_speed": args.live_max_speed,
        "live_refuse_speed": args.live_refuse_speed,
        "heartbeat_interval": args.heartbeat_interval,
        "heartbeat_timeout": args.heartbeat_timeout,
        "shutdown_grace": args.shutdown_grace,
    }
    from assist.logs import configure_logging

    try:
        config = ServerConfig.load(os.environ, flags)
        tokens = load_tokens(config)
        check_security(config, tokens)
    except (ConfigError, ValueError) as exc:  # ValueError: TokenFileError, TlsError
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.log_level, config.json_logs)
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
    return asyncio.run(_serve(config, factory, pipeline_parts, tokens))


def load_tokens(config: ServerConfig) -> TokenStore:
    """The token store of ``config.tokens_path`` (or ``$ASSIST_TOKENS``, or var/tokens.toml); a missing
    file is empty.  Raises ``TokenFileError`` for a broken file."""
    from assist.auth import TokenStore
    from assist.auth_cli import default_token_file

    return TokenStore.load(config.tokens_path or default_token_file())


def check_security(config: ServerConfig, tokens: TokenStore) -> None:
    """Fail before loading the model: an open server on a network address, an unusable certificate."""
    from assist.access import Access

    Access.resolve(config, tokens)
    if config.cert_path is not None:
        from assist.tls import server_context

        server_context(config.cert_path, config.key_path)


def _load_analysis(config: ServerConfig) -> Any:
    """The analysis engine (or None when disabled); loaded before the event loop starts."""
    if not config.analysis:
        return None
    from assist.nlp.analyzer import Analyzer
    from assist.nlp.learned import DEFAULT_MODEL_DIR, MODEL_FILE

    shipped = (DEFAULT_MODEL_DIR / MODEL_FILE).is_file()
    return Analyzer.load(kb_path=config.kb_path, nlp_model=config.nlp_model, learned=shipped)


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


async def _serve(config: ServerConfig, factory: RecognizerFactory, analyzer: Any, tokens: TokenStore) -> int:
    import asyncio
    import logging
    import signal

    from assist.server import AssistServer

    pipeline = await open_pipeline(config, analyzer)
    server = AssistServer(config, factory, pipeline=pipeline, tokens=tokens)
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
        logging.getLogger("assist.server").info("stopping: calls get %.0f s to send their last finals",
                                                 config.shutdown_grace)
        await server.stop()
        if pipeline.store is not None:
            await pipeline.store.close()
    return 0
