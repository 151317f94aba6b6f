"""The standard parts of a local cluster, started from the Debian packages on 127.0.0.1.

``Postgres`` (a throw-away data directory, run as a non-root user), ``Redis`` (no
persistence) and ``HAProxy`` (config from ``assist.ops.haproxy``), each on a free port,
started and stopped as child processes.  Used by ``scripts/cluster`` and the cluster tests.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

PG_BIN_DIRS: Final[tuple[str, ...]] = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin",
                                       "/usr/lib/postgresql/15/bin")
PG_USER: Final[str] = "postgres"  # the Debian package's system user
PG_DATABASE: Final[str] = "assist"


class ServiceError(RuntimeError):
    """A service could not be started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"the process on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServiceError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def pg_bin() -> Path | None:
    """The PostgreSQL server binaries, or None when the package is not installed."""
    for d in PG_BIN_DIRS:
        if (Path(d) / "postgres").is_file():
            return Path(d)
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def missing_binaries() -> list[str]:
    """Which of the cluster's Debian packages are missing here."""
    missing = []
    if pg_bin() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if shutil.which("haproxy") is None:
        missing.append("haproxy")
    return missing


def _demote_to(user: str) -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when we are root (it refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", user], check=True)
        entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


@dataclass
class Postgres:
    """A PostgreSQL server in its own data directory under ``root``."""

    root: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _ids: tuple[int, int] | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def url_for(self, database: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    @property
    def _uid(self) -> int | None:
        return None if self._ids is None else self._ids[0]

    @property
    def _gid(self) -> int | None:
        return None if self._ids is None else self._ids[1]

    def init(self) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise ServiceError("PostgreSQL is not installed (apt-get install postgresql)")
        self._ids = _demote_to(PG_USER)
        self.root.mkdir(parents=True, exist_ok=True)
        if self._ids is not None:
            os.chown(self.root, *self._ids)
        if not (self.data_dir / "PG_VERSION").is_file():
            subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.data_dir), "-U", PG_USER, "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root,
                user=self._uid, group=self._gid, extra_groups=None if self._ids is None else [],
            )

    def start(self) -> None:
        bindir = pg_bin()
        assert bindir is not None
        if not self.data_dir.is_dir():
            self.init()
        if self._ids is None:
            self._ids = _demote_to(PG_USER)
        self.port = self.port or free_port()
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.root), "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True, user=self._uid,
            group=self._gid, extra_groups=None if self._ids is None else [],
        )
        wait_port(self.port, 30, self.proc)
        self._wait_ready()
        self._create_database(PG_DATABASE)

    def _psql(self, sql: str, database: str = "postgres") -> subprocess.CompletedProcess[bytes]:
        psql = shutil.which("psql") or str((pg_bin() or Path("/usr/bin")) / "psql")
        return subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "-d", database, "-v", "ON_ERROR_STOP=1",
             "-qAtc", sql],
            capture_output=True, timeout=30,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._psql("SELECT 1").returncode == 0:
                return
            time.sleep(0.1)
        raise ServiceError("PostgreSQL does not answer queries")

    def _create_database(self, name: str) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").stdout.strip()
        if not exists:
            result = self._psql(f'CREATE DATABASE "{name}"')
            if result.returncode != 0:
                raise ServiceError(result.stderr.decode(errors="replace"))

    def create_database(self, name: str) -> str:
        """A new empty database (for one test); its URL."""
        self._create_database(name)
        return self.url_for(name)

    def stop(self, sig: int = signal.SIGINT) -> None:
        """Stop (SIGINT: PostgreSQL's fast shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Redis:
    root: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise ServiceError("Redis is not installed (apt-get install redis-server)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_port(self.port, 15, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@dataclass
class HAProxy:
    root: Path
    config_text: str
    port: int
    stats_port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("haproxy")
        if exe is None:
            raise ServiceError("HAProxy is not installed (apt-get install haproxy)")
        self.root.mkdir(parents=True, exist_ok=True)
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(self.config_text, encoding="utf-8")
        check = subprocess.run([exe, "-c", "-f", str(cfg)], capture_output=True)
        if check.returncode != 0:
            raise ServiceError("bad HAProxy config: " + (check.stdout + check.stderr).decode(errors="replace"))
        log = open(self.root / "haproxy.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen([exe, "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_port(self.port, 15, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
