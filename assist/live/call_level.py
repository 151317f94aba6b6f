"""What one call has come to, folded from its final utterances: the caller's emotion, the call's category,
department and knowledge answer (``call_state.py``), and the crisis — its numbers, whether it is an
emotional crisis (no emergency number raised it) and the department its crisis number is for.

``LiveAssist`` (``prompts.py``) folds each final utterance in before it builds that utterance's cards, and
fills the empathy scripts from this state, so every card, script and ``call_state`` agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assist.live.call_state import CallKnowledge, CallMood, CallTopic
from assist.live.handling_unit import HandlingUnits, NamedUnit
from assist.nlp.analyzer import Analysis
from assist.nlp.empathy import EmpathyScripts
from assist.protocol.enums import Emotion, Role


@dataclass
class CallLevel:
    """The call-level state of one call and how a final utterance moves it."""

    units: HandlingUnits
    mood: CallMood = field(default_factory=CallMood)  # the caller's emotion over the call
    topic: CallTopic = field(default_factory=CallTopic)  # category and department decided for the call
    knowledge: CallKnowledge = field(default_factory=CallKnowledge)  # the call's knowledge answer
    crisis_numbers: list[str] = field(default_factory=list)
    critical: bool = False
    emotional_crisis: bool = False
    referral_names: dict[str, str] = field(default_factory=dict)

    def fold(self, role: Role, r: Analysis | None, named: NamedUnit | None) -> None:
        """A final utterance moves the call's state: the caller's hints, the operator's named unit."""
        if named is not None:
            self.topic.name(named.department)
        if r is None or not role.is_caller:
            return
        label = r.emotion.label if r.emotion is not None else Emotion.CALM
        intensity = r.emotion.intensity if r.emotion is not None else 0.0
        self.mood.fold(label, intensity)
        crisis_department = None
        if r.critical:
            self.critical = True
            self.emotional_crisis = self.emotional_crisis or not any(x.critical for x in r.referrals)
            for ref in r.referrals:
                if ref.number not in self.crisis_numbers:
                    self.crisis_numbers.append(ref.number)
            crisis_department = next((d for d in map(self.units.department_of_referral, self.crisis_numbers)
                                      if d is not None), None)
        for ref in r.referrals:
            self.referral_names.setdefault(ref.number, ref.name)
        weight = r.scores.get("department", {}).get(r.department, 0.0) if r.department else 0.0
        self.topic.fold(r.intent, r.department, critical=r.critical, upset=self.mood.upset,
                        negative_now=label.negative, department_weight=weight or 1.0,
                        crisis_department=crisis_department)
        self.knowledge.fold(tuple(k.id for k in r.knowledge))

    def empathy_steps(self, scripts: EmpathyScripts | None, label: Emotion, intensity: float,
                      referral: tuple[str, str] | None) -> tuple[str, ...]:
        """The empathy script for ``label`` filled from the call's state; in a crisis without a referral of
        its own, the call's first crisis number is the one offered."""
        if scripts is None:
            return ()
        if referral is None and self.crisis_numbers:
            number = self.crisis_numbers[0]
            referral = (number, self.referral_names.get(number, ""))
        return tuple(scripts.scripts(
            emotion=label, intensity=intensity, intent=self.topic.category.current,
            department=self.topic.department.current, critical=self.emotional_crisis, referral=referral,
        ))
