"""Issue 10, items 1, 2 and 6: one canonical path, the Host allow-list and explicit origins, security headers.

Real servers on 127.0.0.1 port 0, requests sent byte for byte over a socket.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assist.audio.recognizer import ScriptedFactory
from assist.live.pipeline import AssistPipeline
from assist.settings import ServerConfig
from assist.store.db import Store
from assist.store.privacy import Redactor
from assist.web.auth import Role, TokenStore
from assist.web.routes import default_static_dir
from assist.web.server import AssistServer
from tests.support.raw_http import raw_request
from tests.support.scripted_server import SCRIPT_A

CALL = "c-1"


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[tuple[AssistServer, str]]:
    """A server that requires tokens and holds one stored call; yields it and a supervisor token."""
    tokens = TokenStore(path=tmp_path / "tokens.toml")
    boss, _ = tokens.issue(Role.SUPERVISOR, "wang", 3600)
    tokens.save()
    store = await Store.open(tmp_path / "calls.sqlite3")
    await store.start_call(CALL, "A1", time.time())
    await store.add_utterance(CALL, "caller", "caller-0", "我家停水了", 0.0, 1.0)
    pipeline = AssistPipeline(analyzer=None, redactor=Redactor(), store=store)
    config = ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=1, auth="on")
    server = AssistServer(config, ScriptedFactory((SCRIPT_A,)), tokens=tokens, pipeline=pipeline)
    await server.start()
    yield server, boss
    await server.stop(grace=2)
    await store.close()


def _variants(path: str) -> tuple[list[str], list[str]]:
    """(ambiguous encodings that must get 400, unambiguous encodings that must mean ``path``)."""
    head = path[1:].partition("/")[0]
    ambiguous = [
        "/" + path[1:].replace("/", "%2F", 1) if "/" in path[1:] else path + "%2F",
        "/" + path[1:].replace("/", "%2f", 1) if "/" in path[1:] else path + "%2f",
        path.rstrip("/") + "/%2E%2E" + path,
        path.rstrip("/") + "/%2e/x",
        "/" + path[1:].replace("/", "%252F", 1) if "/" in path[1:] else path + "%2525",
        "/" + path[1:].replace("/", "\\", 1) if "/" in path[1:] else path + "\\",
        "/" + path[1:].replace("/", "%5C", 1) if "/" in path[1:] else path + "%5c",
        path.rstrip("/") + "/../" + path.lstrip("/"),
        "/" + path.lstrip("/").replace("/", "//", 1) if "/" in path[1:] else "//" + path.lstrip("/"),
    ]
    same = [path if not head else f"/%{ord(head[0]):02X}" + path[2:]]
    return ambiguous, same


async def test_every_route_decides_access_on_one_canonical_path(guarded: tuple[AssistServer, str]) -> None:
    server, boss = guarded
    port = server.port
    paths = [p + CALL if p.endswith("/") and p.startswith("/api") else p + "overlay.js" if p.endswith("/") else p
             for p in server.table.paths()]
    assert {"/api/calls", f"/api/calls/{CALL}", "/ws/call", "/ws/subscribe", "/metrics", "/stats"} <= set(paths)
    paths.append(f"/api/calls/{CALL}/report")
    for path in paths:
        upgrade = path.startswith("/ws/")
        plain = await raw_request(port, path, upgrade=upgrade)
        ambiguous, same = _variants(path)
        for target in ambiguous:
            answer = await raw_request(port, target, upgrade=upgrade)
            assert answer.status == 400, (target, answer.status, answer.body[:200])
            assert json.loads(answer.body)["error"]["code"] == "bad_path"
        for target in same:
            answer = await raw_request(port, target, upgrade=upgrade)
            assert answer.status == plain.status, (target, answer.status, plain.status)
    # the attacks of the review, one by one: nothing about a call without a credential that may read it
    for target in ("/api%2Fcalls", "/%61pi/calls", f"/api%2Fcalls/{CALL}", f"/api%2Fcalls/{CALL}/report",
                   f"/%61pi/calls/{CALL}", "/api/calls%2F" + CALL, "/api\\calls", "/api/%63alls"):
        answer = await raw_request(port, target)
        assert answer.status in (400, 401), (target, answer.status)
        assert "停水".encode() not in answer.body
    supervisor = (("Authorization", f"Bearer {boss}"),)
    assert (await raw_request(port, f"/%61pi/calls/{CALL}", supervisor)).status == 200


@pytest.fixture
async def open_server() -> AsyncIterator[AssistServer]:
    config = ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=1, allowed_hosts=("assist.example",))
    server = AssistServer(config, ScriptedFactory((SCRIPT_A,)))
    await server.start()
    yield server
    await server.stop(grace=2)


async def test_dns_rebinding_is_refused_by_host_and_by_origin(open_server: AssistServer) -> None:
    port = open_server.port
    rebound = f"rebind.attacker.example:{port}"
    for path, upgrade in (("/stats", False), ("/api/calls", False), ("/", False), ("/ws/subscribe", True),
                          ("/ws/call", True)):
        answer = await raw_request(port, path, (("Origin", f"http://{rebound}"),), host=rebound, upgrade=upgrade)
        assert answer.status == 421, (path, answer.status)
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "assist.example", "LOCALHOST"):
        assert (await raw_request(port, "/healthz", host=host)).status == 200, host
    assert (await raw_request(port, "/healthz", host="127.0.0.2")).status == 421
    # the right Host, a foreign page: Origin is checked against the list, not against Host
    foreign = (("Origin", f"http://rebind.attacker.example:{port}"),)
    assert (await raw_request(port, "/ws/subscribe", foreign, upgrade=True)).status == 403
    own = (("Origin", f"http://127.0.0.1:{port}"),)
    assert (await raw_request(port, "/ws/subscribe", own, upgrade=True)).status == 101
    named = (("Origin", f"http://localhost:{port}"),)
    assert (await raw_request(port, "/ws/subscribe", named, upgrade=True, host=f"localhost:{port}")).status == 101


async def test_security_headers_on_every_response(open_server: AssistServer) -> None:
    port = open_server.port
    for path in ("/", "/supervisor", "/history", "/static/overlay.js", "/static/common.css", "/healthz", "/stats",
                 "/metrics", "/api/calls", "/nowhere", "/api%2Fcalls"):
        answer = await raw_request(port, path)
        csp = answer.header("Content-Security-Policy") or ""
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp and answer.header("X-Frame-Options") == "DENY", path
        assert answer.header("X-Content-Type-Options") == "nosniff", path
        assert answer.header("Referrer-Policy") == "no-referrer", path


def test_pages_hold_no_inline_script_or_style() -> None:
    for page in default_static_dir().glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.name
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html, re.IGNORECASE), page.name


async def test_duplicate_credential_headers_are_400_not_500(open_server: AssistServer) -> None:
    port = open_server.port
    for name, value in (("Authorization", "Bearer a"), ("Origin", f"http://127.0.0.1:{port}")):
        for path, upgrade in (("/ws/subscribe", True), ("/api/calls", False), ("/stats", False)):
            answer = await raw_request(port, path, ((name, value), (name, value)), upgrade=upgrade)
            assert answer.status == 400, (name, path, answer.status)
            assert json.loads(answer.body)["error"]["code"] == "bad_request"
