"""Per-principal quotas: no token can hold every call or subscriber slot of the server.

Each authenticated principal (one role and subject: an agent, a trainer, a
supervisor) may hold at most ``max_calls`` concurrent calls and
``max_subscriptions`` concurrent subscriptions.  The unrestricted anonymous
principal of an open loopback server (no tokens) is not limited: it is every
local client at once, and the server-wide ``max_calls``/``max_subscribers``
still hold.  ``take`` returns a release function, called once when the call or
subscription ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from assist.protocol.errors import ErrorCode, ProtocolError
from assist.web.auth import Principal


class Slot(StrEnum):
    CALL = "call"
    SUBSCRIPTION = "subscription"


@dataclass
class Quotas:
    max_calls: int
    max_subscriptions: int
    _held: dict[tuple[Slot, str, str], int] = field(default_factory=dict)

    def held(self, principal: Principal, slot: Slot) -> int:
        return self._held.get((slot, principal.role.value, principal.subject), 0)

    def take(self, principal: Principal, slot: Slot) -> Callable[[], None]:
        """Hold one slot for ``principal``; ``ProtocolError`` (too_many_calls / too_many_subscribers) if full."""
        if principal.unrestricted:
            return _nothing
        key = (slot, principal.role.value, principal.subject)
        limit = self.max_calls if slot is Slot.CALL else self.max_subscriptions
        held = self._held.get(key, 0)
        if held >= limit:
            code = ErrorCode.TOO_MANY_CALLS if slot is Slot.CALL else ErrorCode.TOO_MANY_SUBSCRIBERS
            raise ProtocolError(
                code, f"{principal.role.value} {principal.subject!r} already holds its {limit} {slot.value}(s)"
            )
        self._held[key] = held + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            left = self._held.get(key, 0) - 1
            if left > 0:
                self._held[key] = left
            else:
                self._held.pop(key, None)

        return release


def _nothing() -> None:
    return None
