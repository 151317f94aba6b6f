"""Origin check, authorisation rules, ``authenticate_request`` and ``ticket_request``."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest
from websockets.datastructures import Headers

from assist.web.auth import (
    AuthFailure,
    AuthPolicy,
    Principal,
    Role,
    TicketSigner,
    TokenStore,
    authenticate_request,
    authenticate_ticket,
    can_acknowledge,
    can_see,
    can_stream,
    can_subscribe,
    can_train,
    open_principal,
    origin_allowed,
    ticket_request,
)

AGENT = Principal(Role.AGENT, "A1", "t1")
SUPERVISOR = Principal(Role.SUPERVISOR, "boss", "t2")
TRAINER = Principal(Role.TRAINER, "coach", "t3")


OWN = ("http://h:8765", "https://h", "http://[::1]:8765")


@pytest.mark.parametrize(
    ("origin", "allowed", "expected"),
    [
        (None, (), True),  # not a browser
        ("http://h:8765", OWN, True),  # listed (the server lists its own origins)
        ("http://H:8765", OWN, True),
        ("https://h:443", OWN, True),
        ("http://h:80", ("http://h",), True),
        ("http://h", OWN, False),
        ("http://h:8765", (), False),  # never trusted for matching the Host header: only the list counts
        ("http://evil.example:8765", OWN, False),
        ("http://h:8766", OWN, False),
        ("http://ops.example.cn", ("http://ops.example.cn",), True),
        ("http://ops.example.cn:80", ("http://ops.example.cn/",), True),
        ("https://ops.example.cn", ("http://ops.example.cn",), False),
        ("http://anything", ("*",), True),
        ("null", OWN, False),
        ("null", ("null",), True),
        ("file://", OWN, False),
        ("http://h:8765/path", OWN, False),
        ("http://user@h:8765", OWN, False),
        ("http://h:99999", OWN, False),
        ("not a url", OWN, False),
        ("http://[::1]:8765", OWN, True),
    ],
)
def test_origin_allowed(origin: str | None, allowed: tuple[str, ...], expected: bool) -> None:
    assert origin_allowed(origin, allowed) is expected


def test_stream_rules() -> None:
    assert can_stream(AGENT, "A1")
    assert not can_stream(AGENT, "A2")
    assert not can_stream(AGENT, "A1", mode="training")
    assert can_stream(TRAINER, "trainee-7", mode="training")
    assert not can_stream(TRAINER, "trainee-7", mode="live")
    assert not can_stream(SUPERVISOR, "A1")
    assert can_stream(open_principal(), "A1")


def test_subscribe_and_visibility_rules() -> None:
    assert can_subscribe(AGENT, "A1")
    assert not can_subscribe(AGENT, "A2")
    assert not can_subscribe(AGENT, None)
    assert not can_subscribe(AGENT, "A1", all=True)
    assert can_subscribe(SUPERVISOR, None, all=True)
    assert can_subscribe(SUPERVISOR, "A2")
    assert can_subscribe(TRAINER, "trainee-7", mode="training")
    assert can_subscribe(TRAINER, "trainee-7")  # not started yet: the hub filters with can_see
    assert not can_subscribe(TRAINER, "A1", mode="live")
    assert not can_subscribe(TRAINER, None, all=True)
    assert can_see(AGENT, "A1", "live") and not can_see(AGENT, "A2", "live")
    assert can_see(TRAINER, "x", "training") and not can_see(TRAINER, "x", "live")
    assert not can_see(TRAINER, "x", None)
    assert can_see(SUPERVISOR, "x", "live")


def test_other_rules() -> None:
    assert can_acknowledge(SUPERVISOR) and not can_acknowledge(AGENT) and not can_acknowledge(TRAINER)
    assert can_train(TRAINER) and not can_train(AGENT) and not can_train(SUPERVISOR)


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(path=tmp_path / "t.toml")


def test_bearer_token(store: TokenStore) -> None:
    token, record = store.issue(Role.AGENT, "A1", None)
    signer = TicketSigner.generate()
    headers = Headers({"Authorization": f"Bearer {token}", "Host": "h:1"})
    assert authenticate_request("/ws/call", headers, store, signer, AuthPolicy()) == Principal(
        Role.AGENT, "A1", record.id
    )
    lower = Headers({"authorization": f"bearer  {token} "})
    assert isinstance(authenticate_request("/ws/call", lower, store, signer, AuthPolicy()), Principal)
    bad = authenticate_request("/", Headers({"Authorization": "Bearer nope"}), store, signer, AuthPolicy())
    assert bad == AuthFailure(HTTPStatus.UNAUTHORIZED, "invalid or expired token")
    basic = authenticate_request("/", Headers({"Authorization": "Basic eDp5"}), store, signer, AuthPolicy())
    assert isinstance(basic, AuthFailure) and basic.status == HTTPStatus.UNAUTHORIZED


def test_ticket_in_query(store: TokenStore) -> None:
    signer = TicketSigner.generate()
    ticket = signer.issue(SUPERVISOR)
    result = authenticate_request(f"/ws/subscribe?x=1&ticket={ticket}", Headers(), store, signer, AuthPolicy())
    assert result == SUPERVISOR
    again = authenticate_request(f"/ws/subscribe?ticket={ticket}", Headers(), store, signer, AuthPolicy())
    assert isinstance(again, AuthFailure) and again.status == HTTPStatus.UNAUTHORIZED
    two = authenticate_request("/ws?ticket=a&ticket=b", Headers(), store, signer, AuthPolicy())
    assert isinstance(two, AuthFailure) and two.status == HTTPStatus.BAD_REQUEST
    assert authenticate_ticket(signer.issue(AGENT), signer) == AGENT
    assert isinstance(authenticate_ticket(12, signer), AuthFailure)


def test_missing_credentials_and_open_server(store: TokenStore) -> None:
    signer = TicketSigner.generate()
    refused = authenticate_request("/ws/call", Headers(), store, signer, AuthPolicy())
    assert isinstance(refused, AuthFailure) and refused.status == HTTPStatus.UNAUTHORIZED
    open_policy = AuthPolicy(require_credentials=False)
    anonymous = authenticate_request("/ws/call", Headers(), None, None, open_policy)
    assert anonymous == open_principal() and anonymous.unrestricted
    wrong = authenticate_request("/ws/call", Headers({"Authorization": "Bearer x"}), store, None, open_policy)
    assert isinstance(wrong, AuthFailure)  # given credentials must be valid even on an open server


def test_origin_is_checked_before_credentials(store: TokenStore) -> None:
    token, _ = store.issue(Role.SUPERVISOR, "boss", None)
    headers = Headers({"Origin": "http://evil.example", "Host": "h:1", "Authorization": f"Bearer {token}"})
    result = authenticate_request("/ws/subscribe", headers, store, None, AuthPolicy())
    assert result == AuthFailure(HTTPStatus.FORBIDDEN, "origin not allowed")
    same = Headers({"Origin": "http://h:1", "Host": "h:1", "Authorization": f"Bearer {token}"})
    listed = AuthPolicy(allowed_origins=("http://h:1",))
    assert isinstance(authenticate_request("/ws/subscribe", same, store, None, listed), Principal)
    # an Origin equal to the Host header is not enough: a DNS-rebinding page controls both
    rebound = Headers({"Origin": "http://rebind.example:1", "Host": "rebind.example:1",
                       "Authorization": f"Bearer {token}"})
    assert authenticate_request("/ws/subscribe", rebound, store, None, listed).status == HTTPStatus.FORBIDDEN  # type: ignore[union-attr]


def test_ticket_endpoint(store: TokenStore) -> None:
    token, _ = store.issue(Role.AGENT, "A1", None)
    signer = TicketSigner.generate()
    policy = AuthPolicy(ticket_ttl=30, allowed_origins=("http://h:1",))
    headers = Headers({"Authorization": f"Bearer {token}", "Host": "h:1", "Origin": "http://h:1"})
    status, body = ticket_request("POST", headers, store, signer, policy)
    assert status == HTTPStatus.OK
    assert body["expires_in"] == 30 and body["role"] == "agent" and body["subject"] == "A1"
    assert signer.verify(body["ticket"]) == store.authenticate(token)
    assert ticket_request("GET", headers, store, signer, policy)[0] == HTTPStatus.METHOD_NOT_ALLOWED
    assert ticket_request("POST", Headers(), store, signer, policy)[0] == HTTPStatus.UNAUTHORIZED
    by_ticket = Headers({"Authorization": f"Bearer {signer.issue(AGENT)}"})
    assert ticket_request("POST", by_ticket, store, signer, policy)[0] == HTTPStatus.UNAUTHORIZED
    evil = Headers({"Authorization": f"Bearer {token}", "Host": "h:1", "Origin": "http://evil"})
    assert ticket_request("POST", evil, store, signer, policy)[0] == HTTPStatus.FORBIDDEN
    assert ticket_request("POST", headers, store, None, policy)[0] == HTTPStatus.NOT_FOUND
