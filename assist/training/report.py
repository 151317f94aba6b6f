"""Training report of one call (docs/training.md): what the operator said and should have said.

``build_report(events)`` reads the typed event stream of a call (final transcripts, prompts, alerts,
call state; JSON from the server is decoded at the edge by ``assist.protocol.decode.decode_events``;
read into a call by ``assist.training.call_events``) and returns a ``TrainingReport``: banned phrases
used (time, words, what to say instead), the standard opening and closing greetings, the three empathy
steps in the operator's words after the caller showed emotion (情绪承接 not in the first reply is
``late``), 知识库有答案而坐席答不知道 (``assist.training.unanswered``),
the referrals and knowledge answers the assistant offered (a missed number with the card's
words for the caller), the call-level category and department the call ended on, the caller's peak
emotion, the alerts (each raised again listed once, with its repeats), and whether the operator asked
about the caller's safety after a safety card (``assist.training.safety``).  A call with a critical
signal is judged by the crisis items (``assist.training.crisis``) instead of the routine closing and
empathy steps.  Pure and deterministic: the same events give the same report, no wall-clock field.

Prompts count in their last state: a card withdrawn (its evidence revised away) does not count (but a
safety card, which retires on the caller's next calm final, is checked whenever it was shown, and every
knowledge answer shown is listed, withdrawn or not).  Whether the crisis cards make a crisis to judge,
and which numbers its kind needs, is ``assist.training.crisis_signs``; when a referral number counts as
told, ``assist.training.offers``.  The shape is ``assist.training.report_shape``;
``assist.training.stored_report.report_for_call(store, call_id)`` builds the same report from a stored
call (``GET /api/calls/ID/report``); ``assist.training.report_text`` renders it for people.  The cue
phrases are data: ``assist/nlp/data/training.toml`` (``assist.training.rules``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from assist.live.card_build import distinct_wordings
from assist.nlp.crisis_rules import CrisisRules, shipped_crisis_rules
from assist.nlp.safety_questions import SafetyRules
from assist.protocol.enums import AlertKind, Emotion, PromptAction, PromptKind, Role, Severity
from assist.protocol.events import Alert, Event
from assist.protocol.payloads import (
    BannedPayload,
    CategoryPayload,
    CriticalPayload,
    EmotionPayload,
    KnowledgePayload,
    ReferralPayload,
    SafetyPayload,
)
from assist.training.call_events import CallRead, Card, Utterance, cards_of, read_call, rounded
from assist.training.crisis import CrisisCheck, Said, ended_early, judge, routine_handling
from assist.training.crisis_signs import CallerLine, CrisisReading, CrisisSign, read_crisis
from assist.training.empathy_wording import acknowledgement
from assist.training.offers import KnowledgeCard, ReferralCard
from assist.training.offers import knowledge as knowledge_offers
from assist.training.offers import referrals as referral_offers
from assist.training.report_shape import (
    AlertNote,
    BannedUse,
    CallCategory,
    EmotionMark,
    EmpathyCheck,
    GreetingCheck,
    KnowledgeOffer,
    LateStep,
    ReferralOffer,
    StepCheck,
    TrainingReport,
    Unanswered,
)
from assist.training.report_text import suggestions
from assist.training.rules import EmpathyStep, GreetingRule, TrainingRules
from assist.training.safety import Raised, SafetyCheck, Turn
from assist.training.safety import judge as judge_safety
from assist.training.unanswered import Answer, Lapse, Line, unanswered

CRISIS_EMPATHY_NOTE = "危急来电按危急处置评价:情绪承接见危急处置,不检查责任表态和行动承诺(办结时限)"
UNNAMED_UNIT = "承办"  # the 责任表态 wording when the call has no department: 此事由承办部门主办
BACKCHANNEL = 2  # a caller's line this short (嗯, 好的, 哦) is no turn of the caller's: the operator still closed


# ---------------------------------------------------------------- the checks


def _greeting(rule: GreetingRule, utterances: Sequence[Utterance]) -> GreetingCheck:
    found: dict[str, Utterance] = {}
    for utt in utterances:
        for part in rule.parts:
            if part.name not in found and part.cue.find(utt.norm) is not None:
                found[part.name] = utt
    hits = sorted({u.utterance_id: u for u in found.values()}.values(), key=lambda u: (u.start, u.utterance_id))
    missing = tuple(p.name for p in rule.parts if p.name not in found)
    return GreetingCheck(
        used=not missing,
        time=rounded(hits[0].start) if hits else None,
        said=" / ".join(u.text for u in hits) if hits else None,
        missing=missing,
        expected=rule.example,
    )


def _opening(rules: TrainingRules, agent: Sequence[Utterance]) -> GreetingCheck:
    if not agent:
        return _greeting(rules.opening, [])
    first = agent[0].start
    return _greeting(rules.opening, [u for u in agent if u.start <= first + rules.opening.within_seconds])


def _closing(rules: TrainingRules, agent: Sequence[Utterance], call_end: float) -> GreetingCheck:
    return _greeting(rules.closing, [u for u in agent if u.end >= call_end - rules.closing.within_seconds])


def _hung_up(rules: CrisisRules, closing: GreetingCheck, utterances: Sequence[Utterance]) -> Said | None:
    """The caller's words that ended the call: their last line hangs up (我不说了,挂了) and the operator's lines
    after it only call into the dead line (喂?您还在吗); None otherwise (new-user trial 7), and None when the
    operator's closing words came before them (the caller answered the operator's goodbye)."""
    said = [u for u in utterances if u.role.is_caller and len(u.norm) > BACKCHANNEL]
    last = max(said, key=lambda u: u.end, default=None)
    if last is None or not rules.hangs_up(last.norm):
        return None
    if closing.time is not None and closing.time <= last.start:
        return None
    after = [u for u in utterances if u.role.is_agent and u.start >= last.start and u is not last]
    if not all(rules.into_dead_line(u.norm) for u in after):
        return None
    return Said(last.text, last.norm, last.start, last.end)


def _closed(closing: GreetingCheck, utterances: Sequence[Utterance]) -> Said | None:
    """The operator's words that ended the call: the closing words, else the operator's line when it was the call's
    last (a hang-up without 再见 after 那就这样吧 closes a call too), a caller's backchannel after it (嗯, 好)
    aside; None when the caller spoke last."""
    if closing.time is not None:
        return Said(closing.said or "", "", closing.time, closing.time)
    spoken = [u for u in utterances if u.role.is_agent or len(u.norm) > BACKCHANNEL]
    last = max(spoken, key=lambda u: u.end, default=None)
    return Said(last.text, last.norm, last.start, last.end) if last is not None and last.role.is_agent else None


def _step(step: EmpathyStep, utterances: Sequence[Utterance]) -> StepCheck:
    notes: list[str] = []
    for utt in utterances:
        for m in step.cue.find_all(utt.norm):
            problem = step.problem(utt.norm, m)
            if problem is None:
                return StepCheck(step.name, True, rounded(utt.start), utt.text, step.example)
            if problem not in notes:
                notes.append(problem)
    return StepCheck(step.name, False, None, None, step.example, tuple(notes))


def _emotions(cards: Sequence[Card]) -> list[tuple[Card, Emotion, float]]:
    out = []
    for c in cards:
        data = c.data
        if isinstance(data, EmotionPayload) and Role(c.prompt.role).is_caller and data.label.negative:
            out.append((c, data.label, data.intensity))
    return out


def _empathy(rules: TrainingRules, cards: Sequence[Card], agent: Sequence[Utterance], unfeeling: set[str],
             department: str | None, category: str | None = None) -> EmpathyCheck:
    """The three empathy steps after the caller's first negative emotion (a step whose ``not_for`` names the
    call's ``category`` is not asked: a consultation answered on the spot owes no 办结时限, new-user trial 8); the
    wording to suggest names the call's ``department`` (trial 6, L7: 此事由承办部门主办 when the live card had said
    此事由人社部门主办)."""
    shown = [(c, label, level) for c, label, level in _emotions(cards) if level >= rules.min_intensity]
    if not shown:
        return EmpathyCheck(None, (), ("来电人没有表现出明显的负面情绪,本通电话不检查共情三步",))
    card, label, level = shown[0]
    after = [u for u in agent if u.start >= card.time]
    unit = department or UNNAMED_UNIT
    banned = _banned_lines(cards)
    # 情绪承接 (the first step) is never done by a line whose banned phrase takes the feelings away (``unfeeling``:
    # new-user trial 9, 您先别激动您慢慢说 was listed as a banned phrase and as 情绪承接 on one page)
    clean = [u for u in after if u.utterance_id not in unfeeling]
    asked = [s for s in rules.steps if category is None or category not in s.not_for]
    steps = [dataclasses.replace(c, expected=c.expected.replace("{department}", unit))
             for c in (_step(s, clean if i == 0 else after) for i, s in enumerate(asked))]
    first = steps[0]  # 情绪承接: the caller's feelings are taken up in the first reply, not after other lines
    # its wording fits the caller's strongest emotion (an angry caller is not told 也会同样焦虑)
    strongest = max(shown, key=lambda s: s[2])[1]
    first = steps[0] = dataclasses.replace(first, expected=acknowledgement(strongest, first.expected))
    if first.done and first.time is not None:
        before = [u for u in after if u.start < first.time]
        if len(before) >= rules.late_turns:
            late = LateStep(round(first.time - card.time, 1), len(before),
                            sum(1 for u in before if u.utterance_id in banned))
            steps[0] = dataclasses.replace(first, late=late)
    return EmpathyCheck(EmotionMark(label, round(level, 2), rounded(card.time)), tuple(steps))


def _banned_lines(cards: Sequence[Card]) -> set[str]:
    """The operator's utterances with a banned phrase in them (a warning card)."""
    return {c.prompt.utterance_id for c in cards if isinstance(c.data, BannedPayload)}


def _unfeeling_lines(cards: Sequence[Card]) -> set[str]:
    """The operator's utterances whose banned phrase takes the caller's feelings away (telling them how to feel,
    pushing them off, blaming, rudeness): no 情绪承接 by them.  A promise warned as vague or absolute beside real
    empathy (我非常理解您的心情…估计下周就能处理好) is its own warning and takes nothing away (the focused review of
    stop 20); a learned warning names no rule, so it counts."""
    promises = shipped_crisis_rules().promises
    return {c.prompt.utterance_id for c in cards if isinstance(c.data, BannedPayload) and c.data.rule not in promises}


def _peak(cards: Sequence[Card]) -> EmotionMark | None:
    best: tuple[Card, Emotion, float] | None = None
    for item in _emotions(cards):
        if best is None or item[2] > best[2]:
            best = item
    if best is None:
        return None
    return EmotionMark(best[1], round(best[2], 2), rounded(best[0].time))


def _category(call: CallRead, cards: Sequence[Card]) -> CallCategory | None:
    """The call's category and handling department as the call ended: the call-level decision
    (``assist.live.call_level``) that the overlay shows last.  Live assist sends it as the call state
    and writes it on every category card (a stored call keeps only the cards), so the last call
    state is read when the events have one, else the newest category card."""
    state = call.state
    if state is not None and state.intent is not None:
        return CallCategory(state.intent, state.department)
    latest = next((c.data for c in reversed(cards) if isinstance(c.data, CategoryPayload)), None)
    if latest is None:
        return None
    return CallCategory(latest.intent, latest.department or (state.department if state is not None else None))


def _word_time(utt: Utterance | None, card: Card, said: str) -> float:
    """When the banned words were said: the start of the word where the span begins."""
    if utt is None:
        return card.time
    span = card.prompt.span
    span_text = (span.text if span is not None else "") or said
    joined = ""
    starts: list[tuple[int, float]] = []
    for word, start in utt.words:
        starts.append((len(joined), start))
        joined += word.replace(" ", "")
    pos = joined.find(span_text) if span_text else -1
    if pos < 0 and span is not None and 0 <= span.start < len(joined):
        pos = span.start
    if pos < 0 or not starts:
        return utt.start
    return max((s for i, s in starts if i <= pos), default=utt.start)


def _banned(call: CallRead, cards: Sequence[Card]) -> tuple[BannedUse, ...]:
    out = []
    for c in cards:
        data = c.data
        if isinstance(data, BannedPayload) and Role(c.prompt.role).is_agent:
            when = _word_time(call.utterances.get(c.prompt.utterance_id), c, data.said)
            # a card stored before the live card dropped a wording another one contains says it once here
            suggestion = " ".join(distinct_wordings(data.suggestion.split(" ")))
            out.append(BannedUse(rounded(when) or 0.0, data.said, data.rule, suggestion))
    return tuple(sorted(out, key=lambda b: (b.time, b.words, b.rule)))


def _referrals(cards: Sequence[Card], agent: Sequence[Utterance], caller: Sequence[CallerLine],
               crisis: CrisisReading | None) -> tuple[ReferralOffer, ...]:
    shown = [ReferralCard(c.prompt.utterance_id, c.time, d.number, d.name, d.reason, d.script)
             for c in cards if isinstance(d := c.data, ReferralPayload) and d.number]
    return referral_offers(shown, [_said(u) for u in agent], caller, crisis, shipped_crisis_rules())


def _knowledge(call: CallRead) -> tuple[KnowledgeOffer, ...]:
    """Every answer shown, withdrawn ones too (a withdraw carries the card's last content)."""
    shown = []
    for p in call.prompts.values():
        if isinstance(d := p.data, KnowledgePayload):
            utt = call.utterances.get(p.utterance_id)
            shown.append(KnowledgeCard(utt.start if utt is not None else p.audio_time, d.id, d.question, d.answer,
                                       d.score, p.action == PromptAction.WITHDRAW))
    return knowledge_offers(shown)


def _alerts(call: CallRead, cards: Sequence[Card]) -> tuple[AlertNote, ...]:
    """The alerts in time order, each alert (kind, severity, message) once: at its first time, with how
    many times it came again (the model re-raising the same crisis on every caller final is one episode).
    A changed reason or another kind is another note."""
    notes: dict[tuple[AlertKind, Severity, str], AlertNote] = {}
    banned_at = {c.prompt.utterance_id: _word_time(call.utterances.get(c.prompt.utterance_id), c, d.said)
                 for c in cards if isinstance(d := c.data, BannedPayload)}
    timed = sorted(((_alert_time(call, a, banned_at), a) for a in call.alerts.values()),
                   key=lambda x: (x[0], x[1].alert_id))
    for when, a in timed:
        key = (a.kind, a.severity, a.message)
        seen = notes.get(key)
        again = max(0, a.count - 1)  # re-raises of a continuing crisis folded into one alert
        notes[key] = (AlertNote(rounded(when) or 0.0, key[0], key[1], a.message, again) if seen is None
                      else dataclasses.replace(seen, repeats=seen.repeats + 1 + again))
    return tuple(notes.values())  # in the order of their first time


def _alert_time(call: CallRead, alert: Alert, banned_at: dict[str, float]) -> float:
    """An alert's moment, as the report dates its cards (its ``audio_time`` is when the words ended and the
    alert was raised): a banned-phrase alert when the banned words were said, another the start of the words
    that raised it (转介 and 危急信号 of one caller line at one time)."""
    if alert.utterance_id is None:
        return alert.audio_time
    if alert.kind == AlertKind.BANNED and alert.utterance_id in banned_at:
        return banned_at[alert.utterance_id]
    utt = call.utterances.get(alert.utterance_id)
    return utt.start if utt is not None else alert.audio_time


def _unanswered(call: CallRead, cards: Sequence[Card], rules: TrainingRules,
                utterances: Sequence[Utterance]) -> tuple[Unanswered, ...]:
    """知识库有答案而坐席答不知道 (``assist.training.unanswered``)."""
    lapses = [Lapse(c.prompt.utterance_id, _word_time(call.utterances.get(c.prompt.utterance_id), c, d.said),
                    d.said, d.rule, d.suggestion)
              for c in cards if isinstance(d := c.data, BannedPayload) and Role(c.prompt.role).is_agent]
    if not lapses:
        return ()
    answers = [Answer(p.utterance_id, d.id, d.question, d.answer, d.score)
               for p in call.prompts.values() if isinstance(d := p.data, KnowledgePayload) and d.id]
    lines = [Line(u.utterance_id, u.role is Role.CALLER, u.start, u.text, u.role is Role.MIXED) for u in utterances]
    return unanswered(lapses, lines, answers, rules.unanswered)


def build_report(events: Iterable[Event], rules: TrainingRules | None = None) -> TrainingReport:
    """The training report of one call from its event stream (see the module docstring)."""
    rules = rules or TrainingRules.load()
    call = read_call(events, rules)
    utterances = sorted(call.utterances.values(), key=lambda u: (u.start, u.end, u.utterance_id))
    agent = [u for u in utterances if u.role.is_agent]
    cards = cards_of(call)
    end = max((u.end for u in utterances), default=0.0)
    counts: dict[Role, int] = {}
    for u in utterances:
        counts[u.role] = counts.get(u.role, 0) + 1
    alerts = _alerts(call, cards)
    caller = [CallerLine(u.utterance_id, u.norm, u.start) for u in utterances if u.role.is_caller]
    reading = _stood_down(_reading(call, cards, caller), alerts)
    unfeeling = _unfeeling_lines(cards)
    said = [_said(u, unfeeling) for u in agent]
    crisis = _crisis(reading, said)
    closing = _closing(rules, agent, end)
    category = _category(call, cards)
    empathy = _empathy(rules, cards, agent, unfeeling, category.department if category is not None else None,
                       category.intent if category is not None else None)
    if crisis is not None and crisis.confirmed:  # judged by what a crisis needs: not the closing, steps or 办结时限
        criteria = shipped_crisis_rules()
        hung_up = _hung_up(criteria, closing, utterances)  # the caller ended it, or the operator closed?
        crisis = ended_early(criteria, crisis, hung_up or _closed(closing, utterances), by_caller=bool(hung_up))
        crisis = routine_handling(criteria, crisis, said)
        closing = dataclasses.replace(closing, judged=False)
        empathy = EmpathyCheck(empathy.emotion, (), (CRISIS_EMPATHY_NOTE,)) if empathy.emotion else empathy
    report = TrainingReport(
        call_id=call.call_id,
        agent_id=call.agent_id,
        mode=call.mode,
        duration=rounded(end) or 0.0,
        utterances=dict(sorted(counts.items())),
        category=category,
        emotion=_peak(cards),
        opening=_opening(rules, agent),
        closing=closing,
        banned=_banned(call, cards),
        empathy=empathy,
        referrals=_referrals(cards, agent, caller, reading),
        knowledge=_knowledge(call),
        critical=tuple(a for a in alerts if a.kind == AlertKind.CRITICAL or a.severity == Severity.CRITICAL),
        alerts=alerts,
        crisis=crisis,
        safety=_safety(call, cards, agent, reading),
        unanswered=_unanswered(call, cards, rules, utterances),
    )
    return dataclasses.replace(report, suggestions=suggestions(report))


def _said(u: Utterance, lapses: set[str] | frozenset[str] = frozenset()) -> Said:
    return Said(u.text, u.norm, u.start, u.end, u.utterance_id in lapses)


def _reading(call: CallRead, cards: Sequence[Card], caller: Sequence[CallerLine]) -> CrisisReading | None:
    """What the crisis cards amount to (``assist.training.crisis_signs``; None: no critical signal)."""
    signs = [CrisisSign(c.prompt.utterance_id, c.time, d.reason, d.referrals)
             for c in cards if isinstance(d := c.data, CriticalPayload)]
    # a crisis stood down on the caller's correction: its cards were withdrawn carrying the correction (``_stood_down``)
    signs += [CrisisSign(p.utterance_id, u.start if (u := call.utterances.get(p.utterance_id)) else p.audio_time,
                         d.reason, d.referrals)
              for p in call.prompts.values()
              if p.action == PromptAction.WITHDRAW and isinstance(d := p.data, CriticalPayload) and d.correction]
    by_id = {line.utterance_id: line for line in caller}
    safety = [by_id[p.utterance_id] for p in call.prompts.values()
              if isinstance(p.data, SafetyPayload) and p.utterance_id in by_id]
    # withdrawn ones too: live assist's second sign counts a despair reading whenever it was made
    despair = [by_id[p.utterance_id] for p in call.prompts.values()
               if isinstance(p.data, EmotionPayload) and p.data.label == Emotion.DESPAIR and p.utterance_id in by_id]
    return read_crisis(shipped_crisis_rules(), signs, caller, safety, despair)


def _stood_down(reading: CrisisReading | None, alerts: Sequence[AlertNote]) -> CrisisReading | None:
    """The crisis as the call left it: stood down when the operator confirmed the caller's correction (a
    ``stood_down`` alert, crisis_kinds.toml ``[corrections]``) and no danger came after it — then it is no crisis to
    judge (no missing steps, no number owed: new-user trial 12 got five crisis findings for a fire taken back), and
    the report says why."""
    down = [a for a in alerts if a.kind == AlertKind.STOOD_DOWN]
    if reading is None or not down or any(a.kind == AlertKind.CRITICAL and a.time > down[-1].time for a in alerts):
        return reading
    return dataclasses.replace(reading, confirmed=False, ask="", note=down[-1].message, stood_down=True)


def _crisis(reading: CrisisReading | None, said: Sequence[Said]) -> CrisisCheck | None:
    """Crisis criteria from the first critical prompt on, with the numbers its kinds need (None when no
    critical signal fired); an unconfirmed model guess is reported without items, as ``reading.note``.  ``said``: the
    operator's lines, each with its lapse (no 情绪承接 by it: crisis.toml ``clean``)."""
    if reading is None:
        return None
    kinds = tuple(k.name for k in reading.kinds)
    if not reading.confirmed:
        return CrisisCheck(reading.since, reading.numbers, (), False, kinds, reading.offered, reading.note)
    check = judge(shipped_crisis_rules(), reading.since, reading.numbers, said, reading.first_sign, kinds)
    return dataclasses.replace(check, kinds=kinds, offered=reading.offered, note=reading.note)


def _safety(call: CallRead, cards: Sequence[Card], agent: Sequence[Utterance],
            reading: CrisisReading | None) -> tuple[SafetyCheck, ...]:
    """Whether the operator asked about the caller's safety after each safety card (withdrawn ones too:
    a safety card retires on the caller's next calm final, after it was shown), and after an unconfirmed
    model guess the crisis reading still asks about (``reading.ask``: 自伤自杀).  The patterns are read for
    each report, like training.toml, so an edit applies to the next one."""
    raised = []
    for p in call.prompts.values():
        utt = call.utterances.get(p.utterance_id)
        if isinstance(p.data, SafetyPayload) and utt is not None:
            raised.append(Raised(utt.utterance_id, utt.text, utt.norm, utt.start, utt.end, p.data.question,
                                 p.data.reason))
    critical = [c for c in cards if isinstance(c.data, CriticalPayload)]
    # an unconfirmed guess is on one utterance: judged like a safety card unless one on its words is already
    utt = call.utterances.get(critical[0].prompt.utterance_id) if critical else None
    guess = None if (reading is None or reading.confirmed or not reading.ask or utt is None
                     or any(r.utterance_id == utt.utterance_id for r in raised)) else \
        Raised(utt.utterance_id, utt.text, utt.norm, utt.start, utt.end, reading.ask, reading.reason)
    if not raised and guess is None:
        return ()
    rules = SafetyRules.load()
    turns = [Turn(u.utterance_id, u.text, u.norm, u.start, u.end) for u in agent]
    ids = {c.prompt.utterance_id for c in critical}
    checks = judge_safety(rules, raised, turns, [c.time for c in critical], ids)
    if guess is None:
        return checks
    # judged on its own: the guess is no safety card the caller's next words could replace on screen
    asked = [dataclasses.replace(q, card=PromptKind.CRITICAL) for q in judge_safety(rules, [guess], turns, [], ids)]
    return tuple(sorted((*checks, *asked), key=lambda q: q.time))
