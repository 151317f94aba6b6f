"""Bearer tokens: issue, authenticate, expiry, revoke, hashes at rest, file formats."""

from __future__ import annotations

import hmac
import json
import stat
import tomllib
from pathlib import Path

import pytest

from assist.web.auth import Principal, Role, TokenFileError, TokenStore, hash_token


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_issue_then_authenticate_gives_the_principal(tmp_path: Path) -> None:
    store = TokenStore.load(tmp_path / "tokens.toml")
    token, record = store.issue(Role.AGENT, "A1001", ttl=3600)
    assert token.startswith("assist_") and len(token) > 40
    assert store.authenticate(token) == Principal(Role.AGENT, "A1001", record.id)
    assert store.authenticate(token + "x") is None
    assert store.authenticate("") is None
    assert store.authenticate("x" * 100_000) is None


def test_tokens_are_unique_and_ids_differ(tmp_path: Path) -> None:
    store = TokenStore(path=tmp_path / "t.toml")
    issued = [store.issue(Role.SUPERVISOR, f"user{i}", None) for i in range(20)]
    assert len({t for t, _ in issued}) == 20
    assert len({r.id for _, r in issued}) == 20
    for token, record in issued:
        principal = store.authenticate(token)
        assert principal is not None and principal.token_id == record.id


def test_file_holds_hashes_never_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "var" / "tokens.toml"
    store = TokenStore.load(path)
    token, record = store.issue(Role.TRAINER, "培训师 李", ttl=None)
    store.save()
    text = path.read_text(encoding="utf-8")
    assert token not in text
    assert token.removeprefix("assist_") not in text
    assert hash_token(token) in text
    data = tomllib.loads(text)
    assert data["token"][0]["subject"] == "培训师 李"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = TokenStore.load(path)
    assert again.authenticate(token) == Principal(Role.TRAINER, "培训师 李", record.id)


def test_json_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = TokenStore.load(path)
    token, _ = store.issue(Role.AGENT, "A7", ttl=60)
    store.save()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["token"][0]["role"] == "agent" and "expires" in data["token"][0]
    principal = TokenStore.load(path).authenticate(token)
    assert principal is not None and principal.subject == "A7"


def test_expiry(tmp_path: Path) -> None:
    clock = FakeClock()
    store = TokenStore(path=tmp_path / "t.toml", clock=clock)
    token, record = store.issue(Role.AGENT, "A1", ttl=100)
    assert record.expires == clock.now + 100
    clock.now += 99
    assert store.authenticate(token) is not None
    clock.now += 1
    assert store.authenticate(token) is None


def test_revoke_persists_and_keeps_the_record(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    store = TokenStore.load(path)
    keep, _ = store.issue(Role.SUPERVISOR, "boss", None)
    gone, record = store.issue(Role.AGENT, "A2", None)
    store.save()
    revoked = store.revoke(record.id)
    assert revoked.revoked is not None
    store.save()
    reloaded = TokenStore.load(path)
    assert reloaded.authenticate(gone) is None
    assert reloaded.authenticate(keep) is not None
    assert [r.id for r in reloaded.records if r.revoked is not None] == [record.id]
    with pytest.raises(KeyError):
        store.revoke("nosuchid")


def test_running_store_sees_changes_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    clock = FakeClock()
    server_store = TokenStore.load(path, clock=clock)
    cli_store = TokenStore.load(path)
    token, record = cli_store.issue(Role.AGENT, "A3", None)
    cli_store.save()
    assert server_store.authenticate(token) is None  # checked at most every refresh_interval
    clock.now += 5
    assert server_store.authenticate(token) is not None
    cli_store.revoke(record.id)
    cli_store.save()
    clock.now += 5
    assert server_store.authenticate(token) is None


def test_a_broken_file_on_refresh_keeps_the_old_tokens(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    clock = FakeClock()
    store = TokenStore.load(path, clock=clock)
    token, _ = store.issue(Role.AGENT, "A4", None)
    store.save()
    path.write_text("[[token]]\nid = 'oops'\n", encoding="utf-8")
    clock.now += 5
    assert store.authenticate(token) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("token = 3", "'token' must be a list"),
        ("[[token]]\nid = 'a1'\n", "missing 'role'"),
        ("x = 1", "unknown key"),
        ("[[token]]\nid='a1'\nrole='admin'\nsubject='s'\nsha256='" + "0" * 64 + "'\ncreated='2024-01-01T00:00:00Z'",
         "'role' must be one of"),
        ("[[token]]\nid='a1'\nrole='agent'\nsubject='s'\nsha256='abc'\ncreated='2024-01-01T00:00:00Z'",
         "'sha256' must be 64"),
        ("[[token]]\nid='a1'\nrole='agent'\nsubject='s'\nsha256='" + "0" * 64 + "'\ncreated='yesterday'",
         "not an ISO 8601"),
        ("not toml at all [", "t.toml"),
    ],
)
def test_malformed_files_are_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TokenFileError, match=message):
        TokenStore.load(path)


def test_subjects_are_validated(tmp_path: Path) -> None:
    store = TokenStore(path=tmp_path / "t.toml")
    for bad in ("", " padded", "a\nb", "x" * 129):
        with pytest.raises(ValueError):
            store.issue(Role.AGENT, bad, None)


def test_authenticate_compares_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No early exit: the number of comparisons does not depend on which token matched."""
    store = TokenStore(path=tmp_path / "t.toml")
    issued = [store.issue(Role.AGENT, f"A{i}", None)[0] for i in range(8)]
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        calls.append(1)
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", counting)
    counts = []
    for token in (issued[0], issued[-1], "assist_unknown"):
        calls.clear()
        store.authenticate(token)
        counts.append(len(calls))
    assert counts == [8, 8, 8]
