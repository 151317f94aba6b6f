"""Live assist for one call: transcripts in, prompts, call state and alerts out.

Every transcript (partial or final) is analysed.  Prompts are keyed by
(utterance, kind, key): the first sighting is ``show``, a change is ``update``,
and a prompt whose evidence a revised partial no longer contains is
``withdraw``-n.  Nothing is repeated as a partial grows.  Across utterances a
referral number or knowledge answer already shown in this call is not shown
again.  The empathy and category cards follow the call (``steady_cards.py``).

Category, department, emotion, crisis and knowledge are decided for the call
(``call_level.py``, with hysteresis in ``call_state.py``); a final caller utterance
is folded in before its cards are built, so every card, the empathy script, the banned-phrase alternative and the
``call_state`` sent with them agree.  The unit the operator names as handling
the matter (去社保局问, 归住建管; ``handling_unit.py``) is the call's department.
Referral and knowledge cards from passing words retire (``card_life.py``).  The
supervisor alerts the cards call for are ``alerts.py``'s.  On a mono (mixed) channel, the operator
reading a suggested wording aloud is the operator's words (``echo.py``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assist.live.alerts import CallAlerts
from assist.live.call_context import CallDepartmentView
from assist.live.call_level import CallLevel, distinct
from assist.live.card_build import found_span, heard_span, lapse_card, steady_on_partial
from assist.live.card_life import KB_STRONG, RETIRE_AFTER, CallCards, LiveCard
from assist.live.correction import Heard, hear
from assist.live.crisis import CrisisReading, KindCard, read
from assist.live.echo import SuggestedLines
from assist.live.engine import LearnedAnalyzer, ScriptedEngine, TextAnalyzer
from assist.live.handling_unit import HandlingUnits, NamedUnit, shipped_units
from assist.live.kb_card import kb_answer, knowledge_card
from assist.live.steady_cards import SteadyCards
from assist.nlp.analyzer import Analysis, CallContext
from assist.nlp.crisis_rules import number_text
from assist.nlp.refine import Refinement
from assist.nlp.stepcues import EmpathyStep, shipped_steps
from assist.nlp.traindata import Head
from assist.protocol.enums import (
    AlertKind,
    CallMode,
    PromptAction,
    PromptKind,
    Role,
)
from assist.protocol.events import Alert, CallState, EmotionLevel, Event, Prompt, Span, Transcript
from assist.protocol.payloads import (
    CategoryPayload,
    CriticalPayload,
    EmotionPayload,
    EmpathyPayload,
    HandlingPayload,
    KnowledgePayload,
    PromptData,
    ReferralPayload,
    SafetyPayload,
    payload_kind,
)
from assist.text import join_cjk


@dataclass
class _Card:
    prompt_id: str
    data: PromptData


@dataclass
class _Utterance:
    role: Role
    cards: dict[tuple[PromptKind, str], _Card] = field(default_factory=dict)
    alerted: set[str] = field(default_factory=set)


LEARNED_RULE = "learned"  # a banned-phrase hit of the learned model alone (BannedList.learned_hit)

# The cards one transcript calls for: (kind, key) -> (payload, evidence).
_Wanted = dict[tuple[PromptKind, str], tuple[PromptData, Span | None]]


class LiveAssist:
    """Turns one call's transcripts into operator prompts, call state and supervisor alerts."""

    def __init__(
        self,
        call_id: str,
        agent_id: str,
        analyzer: TextAnalyzer,
        *,
        mode: CallMode = CallMode.LIVE,
        context_factory: Callable[[], CallContext] | None = None,
        clock: Callable[[], float] = time.time,
        units: HandlingUnits | None = None,
        steps: tuple[EmpathyStep, ...] | None = None,
    ) -> None:
        self.call_id = call_id
        self.agent_id = agent_id
        self.mode = mode
        self._analyzer = analyzer
        self._scripts = analyzer.empathy if isinstance(analyzer, ScriptedEngine) else None
        self._units = units if units is not None else shipped_units()
        self._steps = steps if steps is not None else shipped_steps()  # the empathy steps' cue phrases
        self._clock = clock
        self._context = context_factory() if context_factory else None
        self.started_at = clock()
        self._utterances: dict[str, _Utterance] = {}
        self._shown_referrals: set[str] = set()
        table = self._scripts.referrals if self._scripts is not None else None
        self.call = CallLevel(self._units, table)  # emotion, category, department, knowledge and crisis of the call
        self.cards = CallCards()  # referral and knowledge cards that outlive their utterance
        self.referrals: list[str] = []
        self.warnings = 0
        self.audio_time = 0.0
        self._alerts = CallAlerts(call_id, agent_id, clock)
        self._suggested = SuggestedLines()  # wordings shown to the operator (read aloud: the operator's)
        self._steady = SteadyCards(call_id, self.call, self._scripts, self._steps, self._suggested)
        self._covered: frozenset[str] | None = None  # the crisis numbers when the operator transferred (or told one)
        self._nudges: list[Prompt] = []  # the handling cards shown, withdrawn once the operator transfers
        self._crisis_cards: dict[str, Prompt] = {}  # the crisis cards on screen (their newest show or update)

    # ------------------------------------------------------------ public

    def learned_for(self, t: Transcript, *, defer_search: bool = False) -> Refinement | None:
        """The learned path for a final or a stable partial (blocking, ~40 ms: run it off the event loop),
        or None: the caller's heads, or on the operator's channel the banned-phrase head.  Pass it to
        ``on_transcript(t, refinement)``.  ``defer_search``: a knowledge search needing a second encoder pass
        is left pending (``refinement.pending``) for ``with_knowledge``."""
        if not isinstance(self._analyzer, LearnedAnalyzer):
            return None
        text = join_cjk(t.text)
        role = Role.AGENT if self._suggested.voice(Role(t.role), text) is Role.AGENT else Role.CALLER
        return self._analyzer.learned_refinement(role, text, defer_search=defer_search) if text.strip() else None

    def with_knowledge(self, refinement: Refinement) -> Refinement:
        """Blocking: ``refinement`` with the knowledge search ``learned_for`` left pending."""
        if refinement.pending is None or not isinstance(self._analyzer, LearnedAnalyzer):
            return refinement
        return self._analyzer.learned_search(refinement)

    @property
    def learns(self) -> bool:
        """The engine has a learned path (``learned_for`` can return something)."""
        return isinstance(self._analyzer, LearnedAnalyzer) and self._analyzer.learns

    def on_transcript(self, t: Transcript, refinement: Refinement | None = None) -> list[Event]:
        """Analyse one transcript event; return the prompt, alert and state events it causes."""
        self.audio_time = max(self.audio_time, t.end)
        text = join_cjk(t.text)
        role = self._suggested.voice(Role(t.role), text)  # on one mixed channel, a suggestion read out
        utt = self._utterances.setdefault(t.utterance_id, _Utterance(role=t.role))
        before = self.state() if t.final else None
        named = self._units.named(text) if role.is_agent and text.strip() else None
        result, reading = self._analyze(role, text, t.utterance_id, named, refinement) if text.strip() else (None, None)
        correction = self._correction_words(role, result)
        if role is Role.CALLER and result is not None:
            self.call.hear_caller(result.normalized.text)
        if correction is not None and reading is not None and reading.kind in (None, self.call.crisis.kind):
            reading = None  # 不是着火 是烧纸: the words that take the call's danger back raise no danger of it
        if t.final and not text.strip() and self._context is not None:  # the recogniser took the words back
            self._context.forget(t.utterance_id)
        if reading is not None and role.is_caller:  # the words that raised or joined the crisis: its first steps
            self.call.aid.hear(t.utterance_id, result.normalized.text if result is not None else "")
        if t.final and role.is_caller and result is not None:
            self.call.aid.note(result.normalized.text)
        numbers = self.call.enter_crisis(reading, t.utterance_id) if reading is not None else None
        if t.final:
            self.call.fold(role, result, named)
        # before the cards: the line that confirms a correction ends the crisis, so it is nudged as no crisis line
        corrected = self._hear_correction(t, role, result, correction is not None) if t.final else []
        wanted = self._cards_for(t, role, text, result, numbers) if result is not None else {}
        out: list[Event] = []
        if before is not None and (moved := self.state()) != before:
            out.append(moved)  # the status row moves with (not after) the cards the final changes
        out.extend(corrected)
        out.extend(self._one_empathy_card(t, wanted))
        held = self._held(t, utt, wanted)
        for key, (data, span) in wanted.items():
            self._suggested.note(data)
            card = utt.cards.get(key)
            if card is None:
                pid = f"{self.call_id}:{t.utterance_id}:{key[0]}:{key[1]}"
                utt.cards[key] = _Card(pid, data)
                shown = self._prompt(pid, t, PromptAction.SHOW, span, data)
                out.append(shown)
                if key[0] is PromptKind.HANDLING:
                    self._nudges.append(shown)
                if key[0] is PromptKind.CRITICAL:
                    self._crisis_cards[pid] = shown
            elif card.data != data and key not in held:
                card.data = data
                updated = self._prompt(card.prompt_id, t, PromptAction.UPDATE, span, data)
                out.append(updated)
                if key[0] is PromptKind.CRITICAL:
                    self._crisis_cards[card.prompt_id] = updated
        for key in [k for k in utt.cards if k not in wanted]:
            card = utt.cards.pop(key)
            self._crisis_cards.pop(card.prompt_id, None)
            out.append(self._prompt(card.prompt_id, t, PromptAction.WITHDRAW, None, card.data))
        alerts = self._alerts.raise_for(t, utt.alerted, result, wanted, self.call.crisis.kind, self.call.mood.label)
        if any(a.kind is AlertKind.CRITICAL for a in alerts):
            self.call.critical = True
        out.extend(alerts)
        if (PromptKind.CRITICAL, "0") in wanted:
            crisis = set(self.call.crisis_numbers) | set(self._numbers(wanted[(PromptKind.CRITICAL, "0")][0]))
            out.extend(self._retire(self.cards.crisis(crisis, self._about_crisis), t))
        if t.final:
            out.extend(self._hear_transfer(t, result if role is Role.AGENT else None))
        if t.final:
            out.extend(self._settle(t, role, utt, result))
            self._utterances.pop(t.utterance_id, None)
            said = result.normalized.text if role.is_agent and result is not None else None
            out.extend(self._steady.after_final(t, said))
        changed = before is not None and self.state() != before
        if out or changed:
            out.append(self.state())
        return out

    def state(self, *, active: bool = True) -> CallState:
        return CallState(
            call_id=self.call_id,
            agent_id=self.agent_id,
            started_at=self.started_at,
            active=active,
            duration=self.audio_time,
            emotion=EmotionLevel(label=self.call.mood.label, intensity=round(self.call.mood.level, 2)),
            intent=self.call.topic.category.current,
            department=self.call.topic.department.current,
            referrals=tuple(self.referrals),
            warnings=self.warnings,
            critical=self.critical,
            mode=self.mode,
            crisis_numbers=tuple(self.call.crisis_numbers),
            told=self.call.handed,
            owed=self.call.owed,
        )

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert | None:
        return self._alerts.acknowledge(alert_id, by, at)

    @property
    def alerts(self) -> list[Alert]:
        return self._alerts.alerts

    @property
    def critical(self) -> bool:
        return self.call.critical

    # ------------------------------------------------------------ internals

    def _analyze(
        self, role: Role, text: str, utterance_id: str, named: NamedUnit | None, refinement: Refinement | None
    ) -> tuple[Analysis, CrisisReading | None]:
        """Analyse with the call's context; a growing partial replaces its own record in it.  A caller
        final's ``refinement`` (the learned path) is applied on top of the rules.  The operator's words
        are checked against the call's department (or the unit they name) and crisis numbers.  With the
        analysis, what a critical caller utterance says of the danger (``crisis.read``)."""
        ctx = self._context
        department = named.department if named is not None else self.call.topic.department.current
        crisis = tuple(self.call.crisis_numbers) if self.call.critical else None
        agent_ctx = CallDepartmentView(ctx, department, crisis) if ctx is not None or department else None
        if role == Role.AGENT:
            said = self._analyzer.analyze(role, text, agent_ctx, utterance_id=utterance_id)
            if refinement is not None and isinstance(self._analyzer, LearnedAnalyzer):
                said = self._analyzer.refine(said, agent_ctx, utterance_id=utterance_id, refinement=refinement)
            return said, None
        rules = self._analyzer.analyze(Role.CALLER, text, ctx, utterance_id=utterance_id)
        result = rules
        if refinement is not None and isinstance(self._analyzer, LearnedAnalyzer):
            result = self._analyzer.refine(result, ctx, utterance_id=utterance_id, refinement=refinement)
        kind = refinement.result.heads.get(Head.KIND) if refinement is not None and refinement.result else None
        reading = read(self.call.kinds, self.call.referrals, rules, result, kind.label if kind else None)
        if role == Role.CALLER:
            return result, reading
        # One mixed channel carries both voices: caller prompts plus banned-phrase checks.
        banned = self._analyzer.analyze(Role.AGENT, text, agent_ctx).banned
        return dataclasses.replace(result, banned=banned), reading

    def _prompt(self, pid: str, t: Transcript, action: PromptAction, span: Span | None, data: PromptData) -> Prompt:
        return Prompt(
            prompt_id=pid,
            call_id=self.call_id,
            role=t.role,
            utterance_id=t.utterance_id,
            kind=payload_kind(data),
            action=action,
            audio_time=t.end,
            span=span,
            data=data,
        )

    @staticmethod
    def _numbers(data: PromptData) -> tuple[str, ...]:
        return data.referrals if isinstance(data, CriticalPayload) else ()

    def _cards_for(self, t: Transcript, role: Role, text: str, r: Analysis, crisis_card: tuple[str, ...] | None
                   ) -> _Wanted:  # crisis_card: the call's crisis numbers when r is critical (CallLevel.enter_crisis)
        cards: _Wanted = {}
        if role.is_agent:
            # one utterance is one lapse, with all its spans (估计问题不大…应该很快): one card, one flash, one
            # alert, one on the call's count
            # (in a crisis the operator's safety questions are not coached on the model's guess)
            lapse = lapse_card([h for h in r.banned if not (h.rule == LEARNED_RULE and self.call.critical)], text)
            if lapse is not None:
                cards[(PromptKind.BANNED, "0")] = lapse
            nudge = self._routine_nudge(t, role, text, r)
            if nudge is not None:
                cards[(PromptKind.HANDLING, "0")] = nudge
        if not role.is_caller:
            return cards
        crisis = set(self.call.crisis_numbers)
        asked: set[str] = set()  # numbers only the safety question's card gives (not found in the words)
        if r.critical and crisis_card is not None:  # the call's reason and numbers (emergency ones only)
            data: PromptData = CriticalPayload(reason=self.call.crisis.card_reason, referrals=crisis_card,
                                               first_aid=self.call.aid.steps(crisis_card, self.call.crisis.kind))
            cards[(PromptKind.CRITICAL, "0")] = (data, heard_span(text, r))
            crisis.update(crisis_card)
        elif r.safety_question is not None and not crisis:  # a weaker sign: ask, no crisis mode, no alert
            asked = {x.number for x in r.referrals if x.span is None}  # the kind's numbers, not said in the words
            if not self._denied(t, r):  # a denial of the danger answers the standing question: no new card
                safety = SafetyPayload(question=r.safety_question, reason=r.critical_reason,
                                       referrals=tuple(x.number for x in r.referrals if x.number in asked))
                cards[(PromptKind.SAFETY, "0")] = (safety, heard_span(text, r))
        if r.emotion is not None and r.emotion.label.negative:
            # while the words come, an upset call's emotion card names the call's emotion (the meter's):
            # one partial's reading (焦虑 60 % before the final's 愤怒 59 %, trial 3 e1 T6) does not relabel it
            mood = self.call.mood
            label = mood.label if mood.label.negative else r.emotion.label
            data = EmotionPayload(label=label, intensity=round(float(r.emotion.intensity), 1))
            cards[(PromptKind.EMOTION, "0")] = (data, None)
        if r.intent:  # the call's category once it has one: what the badge shows is what the call stores
            hint = CategoryPayload(intent=self.call.topic.category.current or r.intent,
                                   department=self.call.topic.department.current)
            cards[(PromptKind.CATEGORY, "0")] = (hint, None)
        matter = self.call.matter_number()
        order = self.call.crisis_numbers  # one order: the crisis card's, then the words'
        said = distinct(r.referrals)  # the same words read twice: the longer reading
        numbers = {x.number for x in said}
        for ref in sorted(said, key=lambda x: order.index(x.number) if x.number in order else len(order)):
            if ref.number in self._shown_referrals or (crisis and ref.number not in crisis) or ref.number in asked:
                continue  # shown already, a routine referral while a crisis holds the screen, or on the safety card
            if self._stood_down_number(ref.number, r):
                continue  # 没有煤气味儿 after the stand-down: the number the caller's denial names (new-user trial 13)
            if self.call.is_matter_hotline(ref) and ref.number != matter:
                continue  # a matter hotline follows the call's matter, not one utterance's guess
            if matter in numbers and ref.number != matter and self.call.is_matter_number(ref.number):
                continue  # beside the call's own matter hotline, another one's words (老板也联系不上 in a gym's 12315)
            # the call's kind of danger, else these words' (119 for 水漫进屋了: the rescue script, not fire's)
            kind = self.call.crisis.kind if ref.number in crisis else self.call.kinds.of_numbers((ref.number,), text)
            fit = self.call.kind_card(kind, ref.number, crisis=ref.number in crisis)  # a reporter's card, too
            script = self.call.crisis_wording(ref) if ref.number in crisis else ref.script  # 三方转接 in a crisis
            if fit is None and ref.number not in crisis and (route := self.call.further_route(ref.number)):
                fit = KindCard(*route)  # 12348 beside a 欠薪 matter: a further route, not 不在12345受理范围
            data = ReferralPayload(number=ref.number, name=ref.name, reason=fit.reason if fit else ref.reason,
                                   script=fit.script if fit and fit.script else script)  # 119 for the trapped
            cards[(PromptKind.REFERRAL, ref.number)] = (data, found_span(text, ref.span.text if ref.span else ""))
        shown = self._utterances[t.utterance_id].cards.get((PromptKind.KNOWLEDGE, "0"))
        answer = knowledge_card(self.call, r, final=t.final, shown=shown.data if shown else None) \
            if not crisis and not r.critical else None
        if answer is not None:
            cards[(PromptKind.KNOWLEDGE, "0")] = (answer, None)
        empathy = self._steady.offer(r)
        if empathy is not None:
            cards[(PromptKind.EMPATHY, "0")] = (empathy, None)
        return cards

    def _routine_nudge(self, t: Transcript, role: Role, text: str, r: Analysis
                       ) -> tuple[HandlingPayload, Span | None] | None:
        """In a crisis, before the transfer: an operator's final that answers the caller at risk as a routine matter
        (crisis.toml [routine]: 我给您登记一下,三个工作日内回复您) gets the crisis's way instead, while it can still
        be put right (new-user trial 9; the training report's 危急情况按一般诉求处理 said it only afterwards).  The
        operator's own channel only (on a mixed one the caller's 你们每次都说三个工作日 is no lapse); a line that also
        transfers, asks the place or keeps the caller on the line is no such line; none after the transfer."""
        routine = self.call.criteria.routine
        if (not t.final or role is not Role.AGENT or routine is None or not self.call.crisis.active
                or self._handed_on()):  # (a mono channel cannot tell whose words they are)
            return None
        numbers = self.call.crisis_numbers
        words = self.call.criteria.routine_words(r.normalized.text, numbers, self.call.crisis.kind_names)
        if words is None:
            return None
        # after a transfer for an earlier danger, only the numbers it did not cover (the review of stop 22)
        numbers = [n for n in numbers if n not in (self._covered or ()) and n not in self.call.told] or numbers
        span = found_span(text, words) if words in text else None  # the recogniser's text, else the whole line
        return HandlingPayload(finding=routine.name, said=words if span is not None else text,
                               suggestion=routine.expected.format(number=number_text(numbers))), span

    def _hear_transfer(self, t: Transcript, r: Analysis | None) -> list[Event]:
        """After a final: once the operator transfers or tells a crisis number (not in a question: 需要转接110吗
        您说话), the routine handling nudges are over; those standing are withdrawn then, or when the crisis is over
        (the caller took it back), since there is nothing left to put right."""
        if not self._nudges and (self._handed_on() or not self.call.crisis.active):
            return []
        if self.call.crisis.active and not self._handed_on():
            norm = r.normalized.text if r is not None else ""
            transfers = (not self.call.criteria.asks(norm)
                         and self.call.criteria.transfers(norm, self.call.crisis_numbers, self.call.crisis.kind_names))
            newly_told = set(self.call.handed) - (self._covered or frozenset())
            if not (newly_told or transfers):
                return []
            self._covered = frozenset(self.call.crisis_numbers) | (self._covered or frozenset())
        gone: list[Event] = [dataclasses.replace(p, action=PromptAction.WITHDRAW, audio_time=t.end, span=None)
                             for p in self._nudges]
        self._nudges.clear()
        return gone

    def _correction_words(self, role: Role, r: Analysis | None) -> str | None:
        """Caller words that deny the call's danger (crisis_kinds.toml ``[corrections]``: 不是着火 是烧纸) while the
        crisis is that one danger, partial or final, and whose other words raise none when read again without the denial
        (不是着火 是楼下有个人躺地上一动不动 is a danger: the review of stop 24): the denial, else None.  Such words
        raise no danger of the call's kind (``correction.py``)."""
        crisis = self.call.crisis
        if r is None or role is not Role.CALLER or not crisis.correctable:
            return None
        text = r.normalized.text
        found = crisis.kinds.corrections.denial(crisis.kind, text)
        if found is None:
            return None
        rest = self._analyzer.analyze(Role.CALLER, text[:found.start()] + "," + text[found.end():])
        if rest.critical or rest.safety_question is not None or any(x.urgent for x in rest.referrals):
            return None
        return found.group(0)

    def _hear_correction(self, t: Transcript, role: Role, r: Analysis | None, denies: bool) -> list[Event]:
        """After a final: the caller's correction (``denies``: ``_correction_words`` found one) is shown on the crisis
        cards; once the operator confirms it the crisis stands down (``correction.hear``)."""
        if r is None or (role is Role.CALLER and r.critical and not denies):
            return []  # a danger again (``CallLevel.enter_crisis`` voided the correction)
        heard, words = hear(self.call.crisis, self.call.criteria, role, r.normalized.text, denies=denies)
        if heard is Heard.CONFIRMED:
            return self._stand_down(t, words)
        return [dataclasses.replace(p, action=PromptAction.UPDATE, audio_time=t.end)
                for p in self._corrected_cards(self.call.crisis.correction or "")]

    def _stood_down_number(self, number: str, r: Analysis) -> bool:
        """A number of the crisis the operator stood down, given by caller words that deny its danger again."""
        crisis = self.call.crisis
        return (crisis.stood_down is not None and number in crisis.stood_down.numbers
                and crisis.kinds.corrections.said(crisis.kind, r.normalized.text) is not None)

    def _corrected_cards(self, words: str) -> list[Prompt]:
        """The crisis cards on screen whose correction changes to ``words`` (the caller's, or "" once void)."""
        out = []
        for pid, p in list(self._crisis_cards.items()):
            if isinstance(p.data, CriticalPayload) and p.data.correction != words:
                p = dataclasses.replace(p, data=dataclasses.replace(p.data, correction=words))
                self._crisis_cards[pid] = p
                out.append(p)
        return out

    def _stand_down(self, t: Transcript, confirmed: str) -> list[Event]:
        """The operator confirmed the caller's correction: the crisis cards, the handling nudges and the crisis
        numbers' referral cards go, nothing is owed (no 未告知 … 请回访), and the floor is told (a ``stood_down``
        alert: a crisis ended on a caller's word is for a supervisor to look at)."""
        done = self.call.crisis.stand_down(confirmed)
        if done is None:
            return []
        if self._context is not None:
            self._context.stand_down(done.numbers)  # the signs of it so far were the misjudgement
        out: list[Event] = [dataclasses.replace(p, action=PromptAction.WITHDRAW, audio_time=t.end, span=None)
                            for p in self._crisis_cards.values()]
        self._crisis_cards.clear()
        out.extend(dataclasses.replace(p, action=PromptAction.WITHDRAW, audio_time=t.end, span=None)
                   for p in self._nudges)
        self._nudges.clear()
        kept = [c for c in self.cards.of_kind(PromptKind.REFERRAL) if c.key in done.numbers]
        out.extend(self._retire([c for c in kept if self.cards.drop(c.prompt_id) is not None], t))
        out.append(self._alerts.stood_down(t, done))
        return out

    def _handed_on(self) -> bool:
        """The operator has transferred, or told the numbers, for the crisis as it stands: a danger told later that
        needs a number neither covered (a fire after a fight's 110 was transferred) is to be handed on afresh, and
        routine handling of it is nudged again."""
        return self._covered is not None and set(self.call.crisis_numbers) <= self._covered | set(self.call.told)

    def _settle(self, t: Transcript, role: Role, utt: _Utterance, r: Analysis | None) -> list[Event]:
        """The utterance ended: its cards join the call's; cards the call no longer supports retire."""
        out: list[Event] = []
        for (kind, key), card in utt.cards.items():
            if kind == PromptKind.REFERRAL:
                self._shown_referrals.add(key)
                if key not in self.referrals:
                    self.referrals.append(key)
                self.cards.keep(LiveCard(card.prompt_id, t.utterance_id, Role(t.role), kind, key, card.data,
                                         self._units.department_of_referral(key)))
            elif isinstance(card.data, KnowledgePayload):
                out.extend(self._retire([c for c in self.cards.of_kind(PromptKind.KNOWLEDGE)
                                         if self.cards.drop(c.prompt_id) is not None], t))
                answer = kb_answer(r, card.data)
                self.call.knowledge.adopt(answer)
                self.cards.keep(LiveCard(card.prompt_id, t.utterance_id, Role(t.role), kind, answer.id, card.data,
                                         answer.department, passing=answer.score < KB_STRONG))
            elif isinstance(card.data, (EmpathyPayload, CategoryPayload, EmotionPayload)):
                self._steady.shown(LiveCard(card.prompt_id, t.utterance_id, Role(t.role), kind, key, card.data,
                                            None, passing=False))
            elif kind == PromptKind.BANNED:
                self.warnings += 1
            elif kind == PromptKind.SAFETY:  # the newest question replaces the one standing
                out.extend(self._retire(self._standing_safety(), t))
                self.cards.keep(LiveCard(card.prompt_id, t.utterance_id, Role(t.role), kind, "safety", card.data,
                                         None))
        if r is not None and role.is_caller and (PromptKind.SAFETY, "0") not in utt.cards:
            out.extend(self._retire(self._settled_safety(t, r), t))
        if r is not None and role.is_caller:
            numbers = {x.number for x in r.referrals}
            answers = {k.id for k in r.knowledge}
            mine = {c.prompt_id for c in utt.cards.values()}
            retired = [c for c in self.cards.fold(numbers, answers, self.call.topic.department.current,
                                                  keep=set(self.call.crisis_numbers))
                       if c.prompt_id not in mine]
            out.extend(self._retire(retired, t))
        return out

    def _one_empathy_card(self, t: Transcript, wanted: _Wanted) -> list[Event]:
        """One empathy card per call: with one on screen from an earlier utterance, a new script updates
        it (on the final, which settles the call's emotion) instead of showing a second card."""
        standing = self._steady.empathy_card
        key = (PromptKind.EMPATHY, "0")
        if standing is None or standing.utterance_id == t.utterance_id or key not in wanted:
            return []
        data, _ = wanted.pop(key)
        return self._steady.take_over(data, t) if t.final and isinstance(data, EmpathyPayload) else []

    def _held(self, t: Transcript, utt: _Utterance, wanted: _Wanted) -> set[tuple[PromptKind, str]]:
        """Cards a partial does not change (no flicker while the words come; the final settles them): the
        same knowledge answer's percentage does not fall, nor rise by less than ``KB_STEP``; an emotion
        card keeps its label and moves its level only by ``EMOTION_STEP``."""
        if t.final:
            return set()
        return {key for key, (data, _) in wanted.items()
                if (card := utt.cards.get(key)) is not None and steady_on_partial(card.data, data)}

    def _about_crisis(self, card: LiveCard) -> bool:
        data = card.data
        return isinstance(data, KnowledgePayload) and self.call.about_crisis(data.question, data.score)

    def _denied(self, t: Transcript, r: Analysis) -> bool:
        """The caller's final answers the standing safety question by denying the danger (没有没有,我就问问):
        no new safety card; ``_settle`` withdraws the standing one.  A later weak signal raises it again."""
        table = self.call.referrals
        if not t.final or r.critical or r.safety_question is not None or table is None \
                or not self.cards.of_kind(PromptKind.SAFETY):
            return False  # an answer that raises a sign of its own is no denial (没有啊…我好累)
        return table.denies_danger(r.normalized.text)

    def _standing_safety(self) -> list[LiveCard]:
        return [c for c in self.cards.of_kind(PromptKind.SAFETY) if self.cards.drop(c.prompt_id) is not None]

    def _settled_safety(self, t: Transcript, r: Analysis) -> list[LiveCard]:
        """The standing safety question after a caller final with no sign of its own: it retires when the final
        answers it (the operator asked since it came up), denies the danger, or is the ``RETIRE_AFTER``-th caller
        final it stood through unasked (the caller moved on); until then it stays, so a question the operator has
        not yet reached is not taken away while the caller goes on (new-user trial 11: withdrawn on 怕等不了那么久,
        as a domestic-violence danger grew, 12 s before the crisis card)."""
        denied = self._denied(t, r)
        settled: list[LiveCard] = []
        for card in self.cards.of_kind(PromptKind.SAFETY):
            card.unsupported += 1
            asked = self._context is not None and self._context.asked_since(card.utterance_id)
            if (denied or asked or card.unsupported >= RETIRE_AFTER) and self.cards.drop(card.prompt_id):
                settled.append(card)
        return settled

    def _retire(self, cards: list[LiveCard], t: Transcript) -> list[Event]:
        """Withdraw cards of earlier utterances (at the audio time of ``t``)."""
        out: list[Event] = []
        for card in cards:
            if card.kind == PromptKind.REFERRAL:
                self._shown_referrals.discard(card.key)  # it may come back if the caller raises it again
            elif card.kind == PromptKind.KNOWLEDGE:
                self.call.knowledge.drop(card.key)
            out.append(Prompt(
                prompt_id=card.prompt_id, call_id=self.call_id, role=card.role, utterance_id=card.utterance_id,
                kind=card.kind, action=PromptAction.WITHDRAW, audio_time=t.end, span=None, data=card.data,
            ))
        return out

