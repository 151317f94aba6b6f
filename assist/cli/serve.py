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
    from assist.nlp.analyzer import Analyzer
    from assist.settings import ClusterConfig, ServerConfig
    from assist.web.auth import TokenStore

EXIT_CONFIG = 2


def add_parser(subparsers: Any) -> None:
    from assist.settings import describe_settings

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
    cluster = parser.add_argument_group("cluster (docs/deployment.md)")
    cluster.add_argument("--database-url", metavar="URL",
                         help="sqlite:///PATH or postgresql://user@host/db (default $ASSIST_DATABASE_URL, else --db)")
    cluster.add_argument("--redis-url", metavar="URL",
                         help="redis://host:port/0: share events and ticket keys with other nodes "
                         "(default $ASSIST_REDIS_URL; none: one node)")
    cluster.add_argument("--node-id", metavar="NAME", help="this node's name (default $ASSIST_NODE_ID, else host-port)")
    cluster.add_argument("--drain-seconds", metavar="S",
                         help="SIGTERM: not ready at once; current calls get S seconds to finish (default 30 "
                         "with --redis-url; without it calls stop at once)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import time

    from assist.audio.models import ModelError, resolve_model_dir
    from assist.settings import ClusterConfig, ConfigError, ServerConfig

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
    from assist.app import check_security, load_analyzer, load_tokens
    from assist.logs import configure_logging

    try:
        config = ServerConfig.load(os.environ, flags)
        cluster = ClusterConfig.load(os.environ, {
            "database_url": args.database_url, "redis_url": args.redis_url, "node_id": args.node_id,
            "drain_seconds": args.drain_seconds,
        })
        tokens = load_tokens(config)
        check_security(config, tokens)
    except (ConfigError, ValueError) as exc:  # ValueError: TokenFileError, TlsError
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.log_level, config.json_logs)
    logging.getLogger("websockets").setLevel(logging.WARNING)  # no per-connection handshake noise
    log = logging.getLogger("assist.web.server")
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
        pipeline_parts = load_analyzer(config)
    except ValueError as exc:  # DataError / KbError name the file and entry
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_serve(config, factory, pipeline_parts, tokens, cluster))


async def _serve(
    config: ServerConfig,
    factory: RecognizerFactory,
    analyzer: Analyzer | None,
    tokens: TokenStore,
    cluster: ClusterConfig,
) -> int:
    import asyncio
    import logging
    import signal

    from assist.app import open_pipeline
    from assist.web.server import AssistServer

    pipeline = await open_pipeline(config, analyzer, cluster)
    node = None
    if cluster.clustered:
        from assist.cluster import join

        node = await join(config, cluster, pipeline)
        await node.start()
    server = AssistServer(config, factory, pipeline=pipeline, tokens=tokens,
                          hub=node.hub if node else None, ticket_secret=node.ticket_secret if node else None)
    try:
        await server.start()
    except OSError as exc:
        logging.getLogger("assist.web.server").error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        if pipeline.store is not None:
            await pipeline.store.close()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log = logging.getLogger("assist.web.server")
    drain = cluster.drain_seconds if cluster.clustered else 0.0
    try:
        await stop.wait()
        if drain > 0 and len(server.registry):
            log.info("draining: no new calls; %d call(s) get %.0f s to finish", len(server.registry), drain)
            await server.drain(drain)
    finally:
        log.info("stopping: calls get %.0f s to send their last finals", config.shutdown_grace)
        await server.stop()
        if node is not None:
            await node.stop()
        if pipeline.store is not None:
            await pipeline.store.close()
    return 0
