"""Typed wiring of the service: what ``assist serve`` and the local training replay both build.

* ``load_tokens`` and ``check_security``: credentials and TLS, checked before the model loads;
* ``load_analyzer``: the Chinese analysis engine (or ``None`` when analysis is off);
* ``open_pipeline``: the store (opened, migrated, crashed calls marked interrupted) and the per-call pipeline;
* ``local_server``: an in-process server built that way, for a local training replay.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from assist.live.pipeline import AssistPipeline
from assist.logs import NotPersonal
from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.learned import DEFAULT_MODEL_DIR, MODEL_FILE
from assist.settings import ServerConfig
from assist.store.base import CallStore
from assist.store.db import Store
from assist.store.open import Backend, backend_of, open_store, redacted_url
from assist.store.privacy import Redactor
from assist.web.access import Access
from assist.web.auth import TokenStore
from assist.web.tls import server_context

if TYPE_CHECKING:
    from assist.audio.recognizer import RecognizerFactory
    from assist.web.server import AssistServer


def load_tokens(config: ServerConfig) -> TokenStore:
    """The token store of ``config.token_path`` (``--tokens``, ``$ASSIST_TOKENS``, else var/tokens.toml in the
    data directory); a missing file is empty.  Raises ``TokenFileError`` for a broken file."""
    return TokenStore.load(config.token_path)


def check_security(config: ServerConfig, tokens: TokenStore) -> None:
    """Fail before loading the model: an open server on a network address, an unusable certificate."""
    Access.resolve(config, tokens)
    if config.cert_path is not None:
        server_context(config.cert_path, config.key_path)


def load_analyzer(config: ServerConfig) -> Analyzer | None:
    """The analysis engine (or None when disabled); loaded before the event loop starts."""
    if not config.analysis:
        return None
    shipped = (DEFAULT_MODEL_DIR / MODEL_FILE).is_file()
    analyzer = Analyzer.load(kb_path=config.kb_path, nlp_model=config.nlp_model, learned=shipped)
    # the model version (20261206-d41c3bc8) is no personal number: logged unmasked
    logging.getLogger("assist.web.server").info("analysis: %s", NotPersonal(analyzer.model_summary()))
    return analyzer


async def open_pipeline(config: ServerConfig, analyzer: Analyzer | None) -> AssistPipeline:
    """The store (opened and migrated; calls left open by a crash marked interrupted) and the pipeline.

    ``database_url`` (``sqlite:///…`` or ``postgresql://…``) names the store instead of ``--db``.
    A PostgreSQL store shared by a cluster is not swept for open calls at start: other nodes are
    streaming them (the floor marks a dead node's calls interrupted, assist.live.floor).
    """
    store: CallStore | None = None
    log = logging.getLogger("assist.web.server")
    if config.store and config.database_url and not config.demo:  # the demo's calls never reach a real store
        url = config.database_url
        store = await open_store(url, keep_originals=config.keep_originals, synchronous=config.db_synchronous)
        # a cluster's floor sweeps the calls of dead nodes; a single node sweeps its own at start
        shared = config.clustered and backend_of(url) is Backend.POSTGRESQL
        interrupted = [] if shared else await store.mark_open_calls_interrupted()
        log.info("database %s%s", redacted_url(url),
                 f" ({len(interrupted)} call(s) left open marked interrupted)" if interrupted else "")
    elif config.store:
        path = config.database_path
        store = await Store.open(path, keep_originals=config.keep_originals, synchronous=config.db_synchronous)
        interrupted = await store.mark_open_calls_interrupted()
        log.info("database %s%s", path,
                 f" ({len(interrupted)} call(s) left open marked interrupted)" if interrupted else "")
    return AssistPipeline(
        analyzer=analyzer,
        redactor=Redactor(keep_originals=config.keep_originals),
        store=store,
        context_factory=CallContext,
        stable_partial=config.stable_partial_ms / 1000,
    )


@contextlib.asynccontextmanager
async def local_server(
    config: ServerConfig, factory: RecognizerFactory, analyzer: Analyzer | None
) -> AsyncIterator[AssistServer]:
    """A server on ``config`` built the way ``assist serve`` builds it (``open_pipeline``), started and stopped."""
    from assist.web.server import AssistServer

    pipeline = await open_pipeline(config, analyzer)
    server = AssistServer(config, factory, pipeline=pipeline)
    try:
        await server.start()
        yield server
    finally:
        await server.stop(grace=5)
        if pipeline.store is not None:
            await pipeline.store.close()
