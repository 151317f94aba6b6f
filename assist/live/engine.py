"""What live assist needs of the analysis engine (``assist.nlp.analyzer.Analyzer`` has all of it): analysing
one utterance, optionally the learned path beside the rules, optionally the empathy scripts."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from assist.nlp.analyzer import Analysis, CallContext
from assist.nlp.empathy import EmpathyScripts
from assist.nlp.refine import Refinement
from assist.protocol.enums import Role


class TextAnalyzer(Protocol):
    """What live assist needs of the analysis engine (``assist.nlp.analyzer.Analyzer``)."""

    def analyze(
        self, role: Role, text: str, context: CallContext | None = None, *, utterance_id: str | None = None
    ) -> Analysis: ...


@runtime_checkable
class LearnedAnalyzer(TextAnalyzer, Protocol):
    """An analysis engine with learned models beside its rules (``assist train``)."""

    @property
    def learns(self) -> bool: ...

    def learned_refinement(self, role: Role, text: str, *, defer_search: bool = False) -> Refinement | None: ...

    def learned_search(self, refinement: Refinement) -> Refinement: ...

    def refine(
        self,
        a: Analysis,
        context: CallContext | None = None,
        *,
        utterance_id: str | None = None,
        refinement: Refinement | None = None,
    ) -> Analysis: ...


@runtime_checkable
class ScriptedEngine(Protocol):
    """An analysis engine that also exposes its empathy scripts (``Analyzer`` does): live assist
    fills them from the call's state instead of the utterance's."""

    empathy: EmpathyScripts
