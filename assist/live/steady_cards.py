"""The cards kept in step with the whole call: the empathy script, the category badge and the emotion.

Other cards belong to the utterance that raised them; these two outlive it and follow the call.
There is one empathy card per call: the script is offered when the caller's emotion turns to another
negative one, and once a card is on screen that card takes the new script (``take_over``); after
that, the card says what the call's state says (the operator named the handling unit: its 责任表态
names that unit) and moves on through 情绪承接 → 责任表态 → 行动承诺 only when the operator's own
words did the step (``stepcues.py``), never back.  The newest category card follows the call's
category and department, so a stored call keeps the decision the overlay ends on.  Likewise the
newest emotion card follows the call's emotion (the meter's label and level, ``call_state.emotion``):
a stored call, which has no live call state, shows the emotion the overlay ended on (the trial's d3
ended live on 绝望 69 % but reopened as 焦虑 30 %, its last utterance's own reading).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from assist.live.call_level import CallLevel
from assist.live.card_life import LiveCard
from assist.live.echo import SuggestedLines
from assist.nlp.analyzer import Analysis
from assist.nlp.empathy import EmpathyScripts
from assist.nlp.stepcues import EmpathyStep
from assist.protocol.enums import Emotion, PromptAction
from assist.protocol.events import Event, Prompt, Transcript
from assist.protocol.payloads import CategoryPayload, EmotionPayload, EmpathyPayload


class SteadyCards:
    """The call's empathy and category cards once shown, and the updates that keep them true."""

    def __init__(self, call_id: str, call: CallLevel, scripts: EmpathyScripts | None,
                 steps: Sequence[EmpathyStep], suggested: SuggestedLines) -> None:
        self._call_id = call_id
        self._call = call
        self._scripts = scripts
        self._steps = tuple(steps)
        self._suggested = suggested
        self._last_label: Emotion | None = None
        self._empathy: LiveCard | None = None  # the empathy card on screen
        self._category: LiveCard | None = None  # the newest category card
        self._emotion: LiveCard | None = None  # the newest emotion card

    def offer(self, r: Analysis) -> EmpathyPayload | None:
        """The empathy script from the call's state: its emotion (the one the meter shows), category,
        department and crisis; offered again only when the call's emotion turns to another negative one."""
        mood = self._call.mood
        if mood.label == self._last_label or (self._last_label is not None and not mood.label.negative):
            return None
        if self._scripts is None:
            steps = r.empathy
        else:
            steps = self._call.empathy_steps(self._scripts, mood.label, mood.level,
                                             tuple(x.number for x in r.referrals))
        return EmpathyPayload(label=mood.label, steps=steps) if steps else None

    @property
    def empathy_card(self) -> LiveCard | None:
        """The call's empathy card on screen (None before the first one is shown)."""
        return self._empathy

    def take_over(self, data: EmpathyPayload, t: Transcript) -> list[Event]:
        """The call's emotion turned to another negative one (``offer``'s new script): the one empathy
        card of the call says so, instead of a second card stacked under the first (trial 3, e1: 愤怒
        and 焦虑 both with the same 120 script)."""
        card = self._empathy
        if card is None:
            return []
        self._last_label = data.label
        if card.data == data:
            return []
        card.data = data
        self._suggested.note(data)
        return [self._update(card, t)]

    def shown(self, card: LiveCard) -> None:
        """An empathy or category card's utterance ended: from now on it follows the call."""
        if isinstance(card.data, EmpathyPayload):
            self._last_label = card.data.label
            self._empathy = card
        elif isinstance(card.data, CategoryPayload):
            self._category = card
        elif isinstance(card.data, EmotionPayload):
            self._emotion = card

    def after_final(self, t: Transcript, agent_said: str | None) -> list[Event]:
        """A final was folded into the call: restate both cards, and on the operator's words
        (``agent_said``) move the empathy card past the steps they did."""
        out = self._restate_empathy(t) + self._restate_category(t) + self._restate_emotion(t)
        if agent_said:
            out.extend(self._advance(t, agent_said))
        return out

    def _restate_empathy(self, t: Transcript) -> list[Event]:
        card = self._empathy
        if card is None or not isinstance(card.data, EmpathyPayload):
            return []
        old = card.data
        intensity = max(self._call.mood.level, self._scripts.min_intensity if self._scripts else 0.0)
        steps = self._call.empathy_steps(self._scripts, old.label, intensity)
        if not steps or steps == old.steps:
            return []
        card.data = EmpathyPayload(label=old.label, steps=steps, stage=old.stage)  # the step reached stays
        self._suggested.note(card.data)
        return [self._update(card, t)]

    def _restate_category(self, t: Transcript) -> list[Event]:
        """The call's category or department moved without a caller's category card (the operator named
        the handling unit: 此事由城管部门主办): the newest category card says so too."""
        card = self._category
        if card is None or not isinstance(card.data, CategoryPayload):
            return []
        topic = self._call.topic
        data = CategoryPayload(intent=topic.category.current or card.data.intent, department=topic.department.current)
        if data == card.data:
            return []
        card.data = data
        return [self._update(card, t)]

    def _restate_emotion(self, t: Transcript) -> list[Event]:
        """The newest emotion card says the call's emotion, as ``call_state`` does (same label, same level)."""
        card = self._emotion
        if card is None:
            return []
        mood = self._call.mood
        data = EmotionPayload(label=mood.label, intensity=round(mood.level, 2))  # as call_state
        if data == card.data:
            return []
        card.data = data
        return [self._update(card, t)]

    def _advance(self, t: Transcript, said: str) -> list[Event]:
        """理解您的心情 → 责任表态; 此事由住建部门主办 → 行动承诺; never back, and not on words that do
        no step (你找物业去).  The steps' cues are training.toml's, as the training report reads them."""
        card = self._empathy
        if card is None or not isinstance(card.data, EmpathyPayload):
            return []
        old = card.data
        done = [i for i, step in enumerate(self._steps[:len(old.steps)]) if i >= old.stage and step.done_in(said)]
        stage = min(max(done) + 1, len(old.steps) - 1) if done else old.stage
        if stage <= old.stage:
            return []
        card.data = dataclasses.replace(old, stage=stage)
        return [self._update(card, t)]

    def _update(self, card: LiveCard, t: Transcript) -> Prompt:
        return Prompt(prompt_id=card.prompt_id, call_id=self._call_id, role=card.role, utterance_id=card.utterance_id,
                      kind=card.kind, action=PromptAction.UPDATE, audio_time=t.end, span=None, data=card.data)
