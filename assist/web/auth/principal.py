"""Roles, principals and what each role may do (authorisation)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from assist.protocol.enums import CallMode

ANONYMOUS = "anonymous"


class Role(StrEnum):
    AGENT = "agent"            # streams its own calls, sees only their prompts
    SUPERVISOR = "supervisor"  # sees all calls and alerts, acknowledges alerts
    TRAINER = "trainer"        # replays recorded calls (mode "training"), may go faster than real time


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated client.

    ``subject`` is the agent id (role agent) or a user name.  ``token_id`` is the
    public id of the token it came from (directly or through a ticket); None
    only for the anonymous principal of an open (development) server, which is
    ``unrestricted``.
    """

    role: Role
    subject: str
    token_id: str | None
    unrestricted: bool = False


def can_stream(principal: Principal, agent_id: str, mode: CallMode = CallMode.LIVE) -> bool:
    """May ``principal`` stream a call of ``agent_id``?  Agents their own live calls, trainers replays."""
    if principal.unrestricted:
        return True
    if principal.role is Role.AGENT:
        return mode == CallMode.LIVE and principal.subject == agent_id
    if principal.role is Role.TRAINER:
        return mode == CallMode.TRAINING
    return False


def can_subscribe(
    principal: Principal, call_agent_id: str | None, all: bool = False, mode: CallMode | None = None
) -> bool:
    """May ``principal`` subscribe to a call of ``call_agent_id`` (or to ``all`` calls)?

    Supervisors: anything.  Agents: their own calls only (``call_agent_id`` is
    the agent of the call, or the ``agent_id`` subscribed to), never ``all``.
    Trainers: one call or agent, unless ``mode`` says it is a live call; the
    hub must then filter each event with ``can_see`` (replays only).
    """
    if principal.unrestricted or principal.role is Role.SUPERVISOR:
        return True
    if all:
        return False
    if principal.role is Role.AGENT:
        return call_agent_id is not None and principal.subject == call_agent_id
    return principal.role is Role.TRAINER and mode != CallMode.LIVE


def can_see(principal: Principal, agent_id: str | None, mode: CallMode | None) -> bool:
    """May an event of a call (its ``agent_id`` and ``mode``) reach ``principal``?"""
    if principal.unrestricted or principal.role is Role.SUPERVISOR:
        return True
    if principal.role is Role.AGENT:
        return agent_id is not None and principal.subject == agent_id
    return principal.role is Role.TRAINER and mode == CallMode.TRAINING


def can_acknowledge(principal: Principal) -> bool:
    """May ``principal`` acknowledge supervisor alerts?"""
    return principal.unrestricted or principal.role is Role.SUPERVISOR


def can_train(principal: Principal) -> bool:
    """May ``principal`` replay calls faster than real time (mode "training")?"""
    return principal.unrestricted or principal.role is Role.TRAINER


def open_principal() -> Principal:
    """The unrestricted anonymous principal of an open (development) server."""
    return Principal(Role.SUPERVISOR, ANONYMOUS, None, unrestricted=True)
