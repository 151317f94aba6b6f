"""Long-lived bearer tokens: a token file of SHA-256 hashes, never the tokens themselves.

The file is TOML (``[[token]]`` tables) or, for a ``.json`` path, JSON
(``{"token": [...]}``).  Each entry: ``id`` (public, for list/revoke),
``role``, ``subject``, ``sha256``, ``created`` and optional ``expires`` /
``revoked`` (RFC 3339 times).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assist.web.auth.principal import Principal, Role

Clock = Callable[[], float]

TOKEN_PREFIX = "assist_"
MAX_SUBJECT_LENGTH = 128
MAX_CREDENTIAL_LENGTH = 1024  # longer bearer tokens / tickets are refused without hashing them


class TokenFileError(ValueError):
    """The token file is malformed; the message names the file and the entry."""


def _valid_subject(subject: str) -> bool:
    return 0 < len(subject) <= MAX_SUBJECT_LENGTH and subject.isprintable() and subject.strip() == subject


def hash_token(token: str) -> str:
    """Hex SHA-256 of a token: what the token file keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _timestamp(value: Any, where: str, key: str) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TokenFileError(f"{where}: '{key}' needs a time zone (e.g. a trailing Z)")
        return value.timestamp()
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise TokenFileError(f"{where}: '{key}' is not an ISO 8601 time: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            raise TokenFileError(f"{where}: '{key}' needs a time zone (e.g. a trailing Z)")
        return parsed.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TokenFileError(f"{where}: '{key}' must be a time")


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One issued token as stored: its hash, never the token itself."""

    id: str
    role: Role
    subject: str
    sha256: str
    created: float
    expires: float | None = None
    revoked: float | None = None

    def active(self, now: float) -> bool:
        return self.revoked is None and (self.expires is None or now < self.expires)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "role": self.role.value,
            "subject": self.subject,
            "sha256": self.sha256,
            "created": _iso(self.created),
        }
        if self.expires is not None:
            out["expires"] = _iso(self.expires)
        if self.revoked is not None:
            out["revoked"] = _iso(self.revoked)
        return out

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> TokenRecord:
        if not isinstance(raw, dict):
            raise TokenFileError(f"{where}: must be a table")
        known = {"id", "role", "subject", "sha256", "created", "expires", "revoked"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise TokenFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
        for key in ("id", "role", "subject", "sha256", "created"):
            if key not in raw:
                raise TokenFileError(f"{where}: missing '{key}'")
        token_id, role, subject, digest = raw["id"], raw["role"], raw["subject"], raw["sha256"]
        if not isinstance(token_id, str) or not token_id.isalnum() or len(token_id) > 32:
            raise TokenFileError(f"{where}: 'id' must be a short alphanumeric string")
        if role not in {r.value for r in Role}:
            raise TokenFileError(f"{where}: 'role' must be one of {', '.join(r.value for r in Role)}")
        if not isinstance(subject, str) or not _valid_subject(subject):
            raise TokenFileError(f"{where}: 'subject' must be 1 to {MAX_SUBJECT_LENGTH} printable characters")
        if (
            not isinstance(digest, str)
            or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise TokenFileError(f"{where}: 'sha256' must be 64 lowercase hex digits")
        return cls(
            id=token_id,
            role=Role(role),
            subject=subject,
            sha256=digest,
            created=_timestamp(raw["created"], where, "created"),
            expires=None if raw.get("expires") is None else _timestamp(raw["expires"], where, "expires"),
            revoked=None if raw.get("revoked") is None else _timestamp(raw["revoked"], where, "revoked"),
        )


def _toml_string(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes for printable text
    # (ids, roles, subjects and times are validated to be printable).
    return json.dumps(value, ensure_ascii=False)


def _render_toml(records: Sequence[TokenRecord]) -> str:
    lines = [
        "# Hotline assist access tokens: SHA-256 hashes only, the tokens themselves are shown once",
        "# by `assist tokens issue`. Manage with `assist tokens list|issue|revoke`.",
    ]
    for rec in records:
        lines.append("")
        lines.append("[[token]]")
        for key, value in rec.to_dict().items():
            lines.append(f"{key} = {_toml_string(value)}")
    return "\n".join(lines) + "\n"


def _parse_ttl_expiry(now: float, ttl: float | None) -> float | None:
    if ttl is None:
        return None
    if not ttl > 0:
        raise ValueError("ttl must be positive (or None for a token that does not expire)")
    return now + ttl


class TokenStore:
    """Bearer tokens of one token file.

    ``authenticate`` is safe to call on every request: it checks all records in
    constant time and, at most once per ``refresh_interval`` seconds, reloads the
    file if it changed (so ``assist tokens issue|revoke`` take effect without a
    restart).
    """

    def __init__(
        self,
        records: Sequence[TokenRecord] = (),
        path: Path | None = None,
        *,
        clock: Clock = time.time,
        refresh_interval: float = 2.0,
    ) -> None:
        self.path = path
        self._records: tuple[TokenRecord, ...] = tuple(records)
        self._clock = clock
        self._refresh_interval = refresh_interval
        self._checked_at = clock()
        self._stamp = self._file_stamp()

    @property
    def records(self) -> tuple[TokenRecord, ...]:
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    # ---------------------------------------------------------------- file

    @classmethod
    def load(cls, path: Path, *, clock: Clock = time.time, missing_ok: bool = True) -> TokenStore:
        """Read a token file (``.json`` → JSON, anything else → TOML); a missing file is empty."""
        return cls(_read_records(path, missing_ok=missing_ok), path, clock=clock)

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the file if it changed; True if reloaded.  A broken file keeps the old tokens."""
        if self.path is None:
            return False
        now = self._clock()
        if not force and now - self._checked_at < self._refresh_interval:
            return False
        self._checked_at = now
        stamp = self._file_stamp()
        if stamp == self._stamp and not force:
            return False
        try:
            self._records = tuple(_read_records(self.path, missing_ok=True))
        except (OSError, TokenFileError):
            return False
        self._stamp = stamp
        return True

    def save(self) -> None:
        """Write the records back (atomically, mode 0600)."""
        if self.path is None:
            raise ValueError("this token store has no file")
        _write_records(self.path, self._records)
        self._stamp = self._file_stamp()

    # ---------------------------------------------------------------- tokens

    def issue(self, role: Role, subject: str, ttl: float | None) -> tuple[str, TokenRecord]:
        """Create a token; returns the plaintext (show it once) and the stored record.

        ``ttl`` in seconds, None for no expiry.  Does not save: call ``save``.
        """
        role = Role(role)
        if not _valid_subject(subject):
            raise ValueError(f"subject must be 1 to {MAX_SUBJECT_LENGTH} printable characters, no edge spaces")
        now = self._clock()
        taken = {r.id for r in self._records}
        token_id = secrets.token_hex(4)
        while token_id in taken:
            token_id = secrets.token_hex(4)
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(
            id=token_id,
            role=role,
            subject=subject,
            sha256=hash_token(plaintext),
            created=now,
            expires=_parse_ttl_expiry(now, ttl),
        )
        self._records = (*self._records, record)
        return plaintext, record

    def revoke(self, token_id: str) -> TokenRecord:
        """Mark a token revoked (kept in the file for the record); KeyError if unknown."""
        for i, rec in enumerate(self._records):
            if rec.id == token_id:
                if rec.revoked is not None:
                    return rec
                revoked = replace(rec, revoked=self._clock())
                self._records = (*self._records[:i], revoked, *self._records[i + 1 :])
                return revoked
        raise KeyError(token_id)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid, unexpired, unrevoked token, else None.

        Every record is compared (``hmac.compare_digest`` over hashes) whatever
        matches, so the time taken does not tell which token matched or where.
        """
        self.refresh()
        if not token or len(token) > MAX_CREDENTIAL_LENGTH:
            return None
        digest = hash_token(token)
        found: TokenRecord | None = None
        for rec in self._records:
            if hmac.compare_digest(rec.sha256, digest) and found is None:
                found = rec
        if found is None or not found.active(self._clock()):
            return None
        return Principal(found.role, found.subject, found.id)


def _read_records(path: Path, *, missing_ok: bool) -> list[TokenRecord]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return []
        raise
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise TokenFileError(f"{path}: must hold a table with a 'token' list")
    unknown = sorted(set(data) - {"token"})
    if unknown:
        raise TokenFileError(f"{path}: unknown key(s) {', '.join(unknown)}")
    entries = data.get("token", [])
    if not isinstance(entries, list):
        raise TokenFileError(f"{path}: 'token' must be a list of tables")
    records = [TokenRecord.from_dict(entry, f"{path}: token #{i + 1}") for i, entry in enumerate(entries)]
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise TokenFileError(f"{path}: token ids must be unique")
    return records


def _write_records(path: Path, records: Sequence[TokenRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.suffix.lower() == ".json":
        text = json.dumps({"token": [r.to_dict() for r in records]}, ensure_ascii=False, indent=2) + "\n"
    else:
        text = _render_toml(records)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path`` while reading-modifying-writing it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
