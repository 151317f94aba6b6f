"""A call as the training report reads it from its event stream: final utterances, prompts in their last
state, alerts and the last call state (``read_call``), and the cards that count (``cards_of``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from assist.protocol.enums import CallMode, PromptAction, Role
from assist.protocol.events import Alert, CallStarted, CallState, Event, Prompt, Ready, Transcript
from assist.protocol.payloads import PromptData
from assist.text import join_cjk
from assist.training.rules import TrainingRules


def rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


@dataclass(frozen=True, slots=True)
class Utterance:
    utterance_id: str
    role: Role
    text: str  # for display (no spaces between Chinese words)
    norm: str  # normalised, for matching
    start: float
    end: float
    words: tuple[tuple[str, float], ...]  # (word, start)


@dataclass(frozen=True, slots=True)
class Card:
    """A prompt in its last state, at the time of its utterance."""

    prompt: Prompt
    time: float

    @property
    def data(self) -> PromptData:
        return self.prompt.data


@dataclass
class CallRead:
    call_id: str | None = None
    agent_id: str | None = None
    mode: CallMode | None = None
    state: CallState | None = None  # the last call state: the call-level category the overlay ends on
    utterances: dict[str, Utterance] = field(default_factory=dict)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)


def read_call(events: Iterable[Event], rules: TrainingRules) -> CallRead:
    call = CallRead()
    for ev in events:
        if isinstance(ev, Ready | CallState | CallStarted | Transcript | Prompt | Alert) and ev.call_id:
            call.call_id = call.call_id or ev.call_id
        if isinstance(ev, CallState | CallStarted):
            call.agent_id = ev.agent_id or call.agent_id
            call.mode = ev.mode or call.mode
            if isinstance(ev, CallState):
                call.state = ev
        elif isinstance(ev, Transcript) and ev.final:
            if not ev.text.strip():
                call.utterances.pop(ev.utterance_id, None)  # a withdrawn utterance
                continue
            call.utterances[ev.utterance_id] = Utterance(
                ev.utterance_id, Role(ev.role), join_cjk(ev.text), rules.normalize(ev.text), ev.start, ev.end,
                tuple((w.word, w.start) for w in ev.words),
            )
        elif isinstance(ev, Prompt):
            call.prompts[ev.prompt_id] = ev
        elif isinstance(ev, Alert):
            call.alerts[ev.alert_id] = ev  # a continuing crisis comes again with its count updated
    return call


def cards_of(call: CallRead) -> list[Card]:
    """Prompts in their last state, withdrawn ones left out, in time order."""
    out = []
    for p in call.prompts.values():
        if p.action == PromptAction.WITHDRAW:
            continue
        utt = call.utterances.get(p.utterance_id)
        out.append(Card(p, utt.start if utt is not None else p.audio_time))
    return sorted(out, key=lambda c: (c.time, c.prompt.prompt_id))
