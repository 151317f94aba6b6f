"""``assist serve``: run the streaming transcription server until SIGINT/SIGTERM.

SIGTERM (or Ctrl-C) stops accepting, gives every call ``shutdown_grace`` (8 s)
to send its last finals, stores the calls as interrupted and exits within 10 s.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from assist.audio.recognizer import RecognizerFactory
    from assist.nlp.analyzer import Analyzer
    from assist.settings import ServerConfig
    from assist.web.auth import TokenStore
    from assist.web.server import AssistServer

EXIT_CONFIG = 2
NO_MODEL_HINT = (
    "Without a speech model: `assist serve --no-model` accepts transcript-source calls only (training "
    "replays), and `assist serve --no-model --demo` replays the sample calls in a loop so the pages can be seen."
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from assist.settings_views import add_arguments, environment_epilog

    parser = subparsers.add_parser(
        "serve",
        help="run the websocket server (call audio in, live transcripts out)",
        description="Run the streaming transcription server. Protocol: docs/protocol.md; settings: docs/server.md.",
        epilog=environment_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import time

    from assist.app import check_security, load_analyzer, load_tokens
    from assist.audio.models import ModelError, resolve_model_dir
    from assist.logs import configure_logging
    from assist.settings import ConfigError, ServerConfig
    from assist.settings_views import flag_values

    try:
        config = ServerConfig.load(os.environ, flag_values(args))
        if config.demo:  # the demo's own calls connect without credentials: loopback unless --insecure-no-auth
            config = config.replace(auth="off")
        tokens = load_tokens(config)
        check_security(config, tokens)
    except (ConfigError, ValueError) as exc:  # ValueError: TokenFileError, TlsError
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.log_level, config.json_logs)
    logging.getLogger("websockets").setLevel(logging.WARNING)  # no per-connection handshake noise
    log = logging.getLogger("assist.web.server")
    factory: RecognizerFactory
    if not config.speech_model:
        from assist.audio.recognizer import NoModelFactory

        factory = NoModelFactory()
        log.info("no speech model: only transcript-source calls are accepted")
    else:
        try:
            model_dir = resolve_model_dir(config.model_dir, os.environ, models_dir=config.models_path)
            from assist.audio.recognizer import VoskModelFactory

            began = time.perf_counter()
            factory = VoskModelFactory(model_dir)
        except ModelError as exc:
            print(f"error: {exc}\n{NO_MODEL_HINT}", file=sys.stderr)
            return EXIT_CONFIG
        from assist.audio.pool import load_warmup_audio, warmup_path

        try:  # checked here, so that a bad file is a clear error before anything listens
            load_warmup_audio(factory.sample_rate, warmup_path(model_dir, config.pool_warmup_audio))
        except ValueError as exc:
            print(f"error: {exc} (ASSIST_POOL_WARMUP_AUDIO, docs/performance.md)", file=sys.stderr)
            return EXIT_CONFIG
        log.info("model %s (%d Hz) loaded from %s in %.1f s", factory.name, factory.sample_rate, model_dir,
                 time.perf_counter() - began)
    try:
        analyzer = load_analyzer(config)
    except ValueError as exc:  # DataError / KbError name the file and entry
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_serve(config, factory, analyzer, tokens))


async def _serve(
    config: ServerConfig, factory: RecognizerFactory, analyzer: Analyzer | None, tokens: TokenStore
) -> int:
    import asyncio
    import logging
    import signal

    from assist.app import open_pipeline
    from assist.web.server import AssistServer

    log = logging.getLogger("assist.web.server")
    pipeline = await open_pipeline(config, analyzer)
    node = None
    if config.clustered:
        from assist.cluster import join

        node = await join(config, pipeline)
        await node.start()
    server = AssistServer(config, factory, pipeline=pipeline, tokens=tokens,
                          hub=node.hub if node else None, ticket_secret=node.ticket_secret if node else None,
                          floor=node.floor if node else None, shared_auth=node.auth if node else None)
    try:
        await server.start()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        if node is not None:
            await node.stop()
        if pipeline.store is not None:
            await pipeline.store.close()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    demo = _start_demo(server) if config.demo else None
    drain = config.drain_seconds if config.clustered else 0.0
    try:
        await stop.wait()
        if drain > 0 and len(server.registry):
            log.info("draining: no new calls; %d call(s) get %.0f s to finish", len(server.registry), drain)
            await server.drain(drain)
    finally:
        if demo is not None:
            demo.cancel()
            await asyncio.gather(demo, return_exceptions=True)
        log.info("stopping: calls get %.0f s to send their last finals", config.shutdown_grace)
        await server.stop()
        if node is not None:
            await node.stop()
        if pipeline.store is not None:
            await pipeline.store.close()
    return 0


def _start_demo(server: AssistServer) -> asyncio.Task[int]:
    """Demo mode: the sample calls replay in a loop against this server (assist.training.demo)."""
    import asyncio
    import logging

    from assist.training.demo import DEMO_AGENT, run_demo

    base = server.url.replace("ws", "http", 1)
    logging.getLogger("assist.web.server").warning(
        "DEMO MODE (演示): the sample calls replay in a loop. Overlay %s/?agent=%s, dashboard %s/supervisor, "
        "history %s/history", base, DEMO_AGENT, base, base)
    return asyncio.create_task(run_demo(server.url + "/ws/call", speed=server.config.demo_speed), name="demo")
