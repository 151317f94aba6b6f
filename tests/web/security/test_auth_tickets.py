"""Browser tickets: valid, tampered, expired, wrong secret, single use."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.web.auth import Principal, Role, TicketSigner, open_principal

SECRET = b"s" * 32
AGENT = Principal(Role.AGENT, "A1001", "ab12cd34")


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_valid_ticket_gives_the_principal_once() -> None:
    signer = TicketSigner(SECRET, clock=FakeClock())
    ticket = signer.issue(AGENT)
    assert ticket.isascii() and all(c.isalnum() or c in "-_." for c in ticket)  # url-safe as is
    assert signer.verify(ticket) == AGENT
    assert signer.verify(ticket) is None  # single use


def test_reusable_tickets_when_asked() -> None:
    signer = TicketSigner(SECRET, clock=FakeClock(), single_use=False)
    ticket = signer.issue(Principal(Role.SUPERVISOR, "王主管", "ffff0000"))
    assert signer.verify(ticket) == signer.verify(ticket) == Principal(Role.SUPERVISOR, "王主管", "ffff0000")


def test_expired_ticket_is_refused() -> None:
    clock = FakeClock()
    signer = TicketSigner(SECRET, clock=clock)
    ticket = signer.issue(AGENT, ttl=60)
    clock.now += 62
    assert signer.verify(ticket) is None


def test_ticket_within_ttl_is_accepted() -> None:
    clock = FakeClock()
    signer = TicketSigner(SECRET, clock=clock)
    ticket = signer.issue(AGENT, ttl=60)
    clock.now += 59
    assert signer.verify(ticket) == AGENT


def test_wrong_secret_is_refused() -> None:
    ticket = TicketSigner(SECRET).issue(AGENT)
    assert TicketSigner(b"t" * 32).verify(ticket) is None


def _reencode(ticket: str, change: dict[str, object]) -> str:
    version, payload, mac = ticket.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(change)
    raw = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{version}.{raw}.{mac}"


@pytest.mark.parametrize("change", [{"r": "supervisor"}, {"s": "A1002"}, {"e": 9_999_999_999}])
def test_tampered_payload_is_refused(change: dict[str, object]) -> None:
    signer = TicketSigner(SECRET)
    assert signer.verify(_reencode(signer.issue(AGENT), change)) is None


def test_tampered_mac_and_shapes_are_refused() -> None:
    signer = TicketSigner(SECRET)
    ticket = signer.issue(AGENT)
    version, payload, mac = ticket.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    for bad in (
        f"{version}.{payload}.{flipped}",
        f"v2.{payload}.{mac}",
        f"{version}.{payload}",
        f"{version}.{payload}.{mac}.x",
        f"{version}.{payload}.{mac}==",
        f"{version}.{payload}!.{mac}",
        "",
        "🙂",
    ):
        assert signer.verify(bad) is None
    assert signer.verify(ticket) == AGENT  # the genuine one still works after all that


@settings(deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_verifies_or_raises(text: str) -> None:
    assert TicketSigner(SECRET).verify(text) is None


def test_bad_construction() -> None:
    with pytest.raises(ValueError):
        TicketSigner(b"short")
    with pytest.raises(ValueError):
        TicketSigner(SECRET).issue(AGENT, ttl=0)
    with pytest.raises(ValueError):
        TicketSigner(SECRET).issue(open_principal())


def test_outstanding_tickets_are_bounded() -> None:
    clock = FakeClock()
    signer = TicketSigner(SECRET, clock=clock, max_outstanding=3)
    tickets = [signer.issue(AGENT, ttl=10) for _ in range(5)]
    assert [signer.verify(t) is not None for t in tickets] == [True, True, True, False, False]
    clock.now += 11  # the used ones expire and are forgotten
    assert signer.verify(signer.issue(AGENT, ttl=10)) == AGENT
