"""Server side of resuming an interrupted call (docs/protocol.md, "Resuming a call").

A client that lost its connection sends ``start`` again with the same
``call_id`` and ``resume_from`` (the audio time from which it re-sends audio).
The new session must go on where the old one stopped:

* utterance ids continue after those already given (``RolePoint.next_index``);
* speech the old session already finalised is decoded again, and what ends
  by the end of the role's last final (``floor``) is dropped as a replay;
* the first new utterance that starts where the last final started (a final
  the old session had to cut when the socket died, now heard in full) takes
  over that final's id, so the store's upsert replaces it instead of adding a
  duplicate.

``ResumePoint`` carries this per role.  It comes from the store (the finals
stored for the call) and from ``ResumeBook``, the server's memory of recently
ended calls (for servers without a store, and before queued writes land).  The
book also keeps each ended call's last ``CallState`` (its crisis numbers and those
told), for an agent's overlay reopened between calls: one bounded memory of ended calls.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from assist.protocol.enums import CallMode

if TYPE_CHECKING:
    from assist.protocol.events import CallState
    from assist.store.base import CallStore as Store  # either backend (assist.store.open)

CLOSED_REASONS = ("completed", "error")  # a call that ended so is immutable: it cannot be resumed or reopened
REPLAY_TOLERANCE = 0.05  # s: a re-decoded final may end a few 10 ms frames later than the stored one
TAKEOVER_TOLERANCE = 0.25  # s: a re-decoded utterance starting this close to a stored one replaces it
_ID = re.compile(r"^(agent|caller|mixed)-(\d+)$")


@dataclass(frozen=True, slots=True)
class RolePoint:
    """Where one role of a call stopped."""

    next_index: int = 0  # the next utterance id is f"{role}-{next_index}"
    last_id: str | None = None  # the role's last final with text
    last_start: float = 0.0
    floor: float = -1.0  # its end; -1: nothing to drop

    def merge(self, other: RolePoint) -> RolePoint:
        """The later of two records of the same role."""
        later = self if (self.floor, self.next_index) >= (other.floor, other.next_index) else other
        return replace(later, next_index=max(self.next_index, other.next_index))


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a call stopped: its agent, mode and every role's ``RolePoint``."""

    agent_id: str
    mode: CallMode
    roles: Mapping[str, RolePoint] = field(default_factory=dict)
    closed: bool = False  # the call ended (``CLOSED_REASONS``): nothing may be added to it

    def role(self, role: str) -> RolePoint:
        return self.roles.get(role, RolePoint())

    def merge(self, other: ResumePoint | None) -> ResumePoint:
        if other is None:
            return self
        names = set(self.roles) | set(other.roles)
        roles = {r: self.role(r).merge(other.role(r)) for r in names}
        return replace(self, roles=roles, closed=self.closed or other.closed)

    def numbering_only(self) -> ResumePoint:
        """Continue the ids but drop nothing: a client that starts the call again without ``resume_from``."""
        return replace(
            self, roles={r: RolePoint(next_index=p.next_index) for r, p in self.roles.items()}
        )


def point_from_utterances(agent_id: str, mode: CallMode, utterances: Iterable[Mapping[str, Any]]) -> ResumePoint:
    """The resume point of a call from its stored finals (``Store.utterances``)."""
    roles: dict[str, RolePoint] = {}
    for u in utterances:
        role, uid = str(u.get("role")), str(u.get("utterance_id"))
        point = roles.get(role, RolePoint())
        match = _ID.match(uid)
        if match is not None and match.group(1) == role:
            point = replace(point, next_index=max(point.next_index, int(match.group(2)) + 1))
        end, start = float(u.get("end") or 0.0), float(u.get("start") or 0.0)
        if u.get("text") and end >= point.floor:
            point = replace(point, last_id=uid, last_start=start, floor=end)
        roles[role] = point
    return ResumePoint(agent_id, mode, roles)


async def point_from_store(store: Store, call_id: str) -> ResumePoint | None:
    """The call's resume point from the store; None for a call it does not hold."""
    from assist.store.db import NotFound

    try:
        data = await store.get_call(call_id)
    except NotFound:
        return None
    call = data["call"]
    point = point_from_utterances(str(call["agent_id"]), CallMode(call["mode"]), data["utterances"])
    return replace(point, closed=call.get("end_reason") in CLOSED_REASONS)


class ResumeBook:
    """The calls that ended recently, at most ``max_calls`` for ``max_age`` seconds: each one's resume point and its
    last state (None for a call that ended without one)."""

    def __init__(
        self, max_calls: int = 1000, max_age: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_calls = max_calls
        self.max_age = max_age
        self._clock = clock
        self._calls: OrderedDict[str, tuple[float, ResumePoint, CallState | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._calls)

    def remember(self, call_id: str, point: ResumePoint, state: CallState | None = None) -> None:
        self._calls.pop(call_id, None)
        self._calls[call_id] = (self._clock(), point, state)
        while len(self._calls) > self.max_calls:
            self._calls.popitem(last=False)

    def get(self, call_id: str) -> ResumePoint | None:
        self._expire()
        item = self._calls.get(call_id)
        return None if item is None else item[1]

    def state(self, call_id: str) -> CallState | None:
        """The ended call's last state."""
        self._expire()
        item = self._calls.get(call_id)
        return None if item is None else item[2]

    def states(self) -> list[CallState]:
        """The last states of the calls remembered, the call that ended last at the end."""
        self._expire()
        return [state for _, _, state in self._calls.values() if state is not None]

    def _expire(self) -> None:
        horizon = self._clock() - self.max_age
        while self._calls:
            first = next(iter(self._calls.values()))
            if first[0] >= horizon:
                return
            self._calls.popitem(last=False)
