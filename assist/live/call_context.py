"""The call's context as the operator-side analysis sees it: the department is the call's.

The analysis engine fills a banned phrase's alternative (此事由{department}部门主办…) from
``CallContext.department`` — the last department the caller's words suggested.  Live assist
decides the call's department itself (assist/live/call_state.py, with the unit the operator
names), so the agent's analysis gets this view, which answers with that department and passes
everything else to the call's real context.
"""

from __future__ import annotations

from assist.nlp.analyzer import CallContext, UtteranceRecord


class CallDepartmentView(CallContext):
    """``base`` with ``department`` as the call's handling department and ``crisis`` as its crisis numbers
    (None: ``base``'s; a banned phrase's crisis alternative names the numbers the crisis card shows)."""

    def __init__(self, base: CallContext | None, department: str | None,
                 crisis: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self._base = base
        self._department = department
        self._crisis = crisis

    def history(self, exclude: str | None = None) -> list[UtteranceRecord]:
        return self._base.history(exclude) if self._base is not None else []

    def record(self, record: UtteranceRecord, utterance_id: str | None = None) -> None:
        if self._base is not None:
            self._base.record(record, utterance_id)

    @property
    def department(self) -> str | None:
        return self._department  # the call's (None: 相关部门), never a department the call did not take

    @property
    def crisis_numbers(self) -> tuple[str, ...] | None:
        if self._crisis is not None:
            return self._crisis
        return self._base.crisis_numbers if self._base is not None else None

    def safety_asked(self, *, danger: bool = False, explicit: bool = True) -> None:
        if self._base is not None:  # the operator's question is the call's: the caller's answer is read there
            self._base.safety_asked(danger=danger, explicit=explicit)

    @property
    def threat(self) -> bool:
        return self._base.threat if self._base is not None else False

    def __len__(self) -> int:
        return len(self._base) if self._base is not None else 0
