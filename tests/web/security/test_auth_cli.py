"""``assist tokens issue|list|revoke`` end to end through the ``assist`` dispatcher."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from assist.cli import main
from assist.cli.tokens import default_token_file, parse_ttl
from assist.web.auth import Principal, Role, TokenStore


def test_issue_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "var" / "tokens.toml"
    assert main(["tokens", "--file", str(path), "issue", "--role", "agent", "--subject", "A1001", "--ttl", "30d"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("assist_") and "shown only now" in err
    principal = TokenStore.load(path).authenticate(token)
    assert principal is not None and principal.role is Role.AGENT and principal.subject == "A1001"
    assert token not in path.read_text(encoding="utf-8")

    assert main(["tokens", "issue", "--role", "supervisor", "--subject", "王主管", "--ttl", "never", "--json",
                 "--file", str(path)]) == 0
    issued = json.loads(capsys.readouterr().out)
    assert issued["role"] == "supervisor" and "expires" not in issued and "sha256" not in issued

    assert main(["tokens", "--file", str(path), "list"]) == 0
    table = capsys.readouterr().out
    assert "A1001" in table and "王主管" in table and token not in table and "active" in table

    agent_id = TokenStore.load(path).records[0].id
    assert main(["tokens", "--file", str(path), "revoke", agent_id]) == 0
    capsys.readouterr()
    assert TokenStore.load(path).authenticate(token) is None
    assert main(["tokens", "--file", str(path), "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["subject"], r["active"]) for r in rows] == [("A1001", False), ("王主管", True)]
    assert TokenStore.load(path).authenticate(issued["token"]) == Principal(Role.SUPERVISOR, "王主管", issued["id"])

    assert main(["tokens", "--file", str(path), "revoke", "nosuch"]) == 1
    assert "no token" in capsys.readouterr().err


def test_broken_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text("token = 1\n", encoding="utf-8")
    assert main(["tokens", "--file", str(path), "list"]) == 2
    assert "'token' must be a list" in capsys.readouterr().err


def test_default_file_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ASSIST_TOKENS", raising=False)
    assert default_token_file().parts[-2:] == ("var", "tokens.toml")
    monkeypatch.setenv("ASSIST_TOKENS", str(tmp_path / "t.json"))
    assert default_token_file() == tmp_path / "t.json"


def test_parse_ttl() -> None:
    assert parse_ttl("30d") == 30 * 86400
    assert parse_ttl("12h") == 12 * 3600
    assert parse_ttl("90m") == 5400
    assert parse_ttl("45") == 45
    assert parse_ttl("2w") == 14 * 86400
    assert parse_ttl("never") is None
    for bad in ("0", "-1d", "1y", "", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_ttl(bad)
