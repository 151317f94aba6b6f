"""Where the service keeps what it writes: the database, the token file and the installed models.

Everything lives under one *data directory*: ``$ASSIST_DATA_DIR`` (``assist serve --data-dir``)
if set, else the **working directory**.  Under it:

* ``var/assist.sqlite3`` — calls, utterances, prompts and alerts (``$ASSIST_DB`` overrides it);
* ``var/tokens.toml`` — access tokens of ``assist tokens`` (``$ASSIST_TOKENS`` overrides it);
* ``models/`` — Vosk models installed by ``assist models`` (``$ASSIST_MODELS_DIR`` overrides it).

The working directory keeps a source checkout working as before (``scripts/serve`` runs from the
repository root, so ``var/`` and ``models/`` are the checkout's), and makes an installed package
write where it is run (a service's ``WorkingDirectory``), never beside site-packages.
Nothing here is computed from the package's own location.  Only the standard library is used,
so every layer may import it (docs/architecture.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DATA_DIR_ENV = "ASSIST_DATA_DIR"
DB_ENV = "ASSIST_DB"
TOKENS_ENV = "ASSIST_TOKENS"
MODELS_DIR_ENV = "ASSIST_MODELS_DIR"

DB_FILE = Path("var") / "assist.sqlite3"
DEMO_DB_FILE = Path("var") / "demo.sqlite3"
TOKENS_FILE = Path("var") / "tokens.toml"
MODELS_DIR = Path("models")


def _env_path(env: Mapping[str, str] | None, name: str) -> Path | None:
    value = (os.environ if env is None else env).get(name, "").strip()
    return Path(value).expanduser() if value else None


def data_dir(env: Mapping[str, str] | None = None, explicit: Path | None = None) -> Path:
    """``explicit`` (``--data-dir``), else ``$ASSIST_DATA_DIR``, else the working directory."""
    if explicit is not None:
        return explicit
    return _env_path(env, DATA_DIR_ENV) or Path.cwd()


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """``$ASSIST_DB``, else ``var/assist.sqlite3`` in the data directory."""
    return _env_path(env, DB_ENV) or data_dir(env) / DB_FILE


def default_token_file(env: Mapping[str, str] | None = None) -> Path:
    """``$ASSIST_TOKENS``, else ``var/tokens.toml`` in the data directory."""
    return _env_path(env, TOKENS_ENV) or data_dir(env) / TOKENS_FILE


def default_models_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$ASSIST_MODELS_DIR``, else ``models/`` in the data directory."""
    return _env_path(env, MODELS_DIR_ENV) or data_dir(env) / MODELS_DIR
