"""The live sessions of one server, by call id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assist.protocol.errors import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from assist.live.session import CallSession


class CallRegistry:
    """The live sessions of one server, by call id (no globals: the server owns one)."""

    def __init__(self, max_calls: int) -> None:
        self.max_calls = max_calls
        self._sessions: dict[str, CallSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._sessions

    def register(self, session: CallSession) -> None:
        """Claim the call id; raises ``call_in_progress`` or ``too_many_calls``."""
        if session.call_id in self._sessions:
            raise ProtocolError(
                ErrorCode.CALL_IN_PROGRESS,
                f"call {session.call_id!r} is already being streamed on another connection",
            )
        if len(self._sessions) >= self.max_calls:
            raise ProtocolError(
                ErrorCode.TOO_MANY_CALLS,
                f"the server is handling its maximum of {self.max_calls} calls; try again later",
            )
        self._sessions[session.call_id] = session

    def unregister(self, session: CallSession) -> None:
        if self._sessions.get(session.call_id) is session:
            del self._sessions[session.call_id]

    def get(self, call_id: str) -> CallSession | None:
        return self._sessions.get(call_id)

    def for_agent(self, agent_id: str) -> CallSession | None:
        """The agent's most recent live call."""
        found = [s for s in self._sessions.values() if s.agent_id == agent_id]
        return max(found, key=lambda s: s.started_at) if found else None

    def sessions(self) -> list[CallSession]:
        return list(self._sessions.values())
