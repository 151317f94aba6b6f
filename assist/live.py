"""Live assist for one call: transcripts in, prompts, call state and alerts out.

Every transcript (partial or final) is analysed.  Prompts are keyed by
(utterance, kind, key): the first sighting is ``show``, a change is ``update``,
and a prompt whose evidence a revised partial no longer contains is
``withdraw``-n.  Nothing is repeated as a partial grows.  Across utterances a
referral number or knowledge answer already shown in this call is not shown
again, and an empathy script is offered when the caller's emotion changes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from assist.events import Alert, CallState, EmotionLevel, Event, Prompt, Span, Transcript

CALM = ("平静", "满意")
NEGATIVE = ("愤怒", "焦虑", "失望", "绝望")
# Caller emotion intensity from which an anger escalation alert is raised.
ESCALATION_LEVEL = 0.75
# Per-utterance decay of the running emotion level (so it falls as the caller calms down).
LEVEL_DECAY = 0.85


class AnalysisResult(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class TextAnalyzer(Protocol):
    """What live assist needs of the analysis engine (``assist.nlp.analyzer.Analyzer``)."""

    def analyze(
        self, role: str, text: str, context: Any = None, *, utterance_id: str | None = None
    ) -> AnalysisResult: ...


@dataclass
class _Card:
    prompt_id: str
    kind: str
    data: dict[str, Any]


@dataclass
class _Utterance:
    role: str
    cards: dict[tuple[str, str], _Card] = field(default_factory=dict)
    alerted: set[str] = field(default_factory=set)


def _span(text: str, evidence: Any) -> Span | None:
    if isinstance(evidence, dict):
        s = evidence.get("text")
        if isinstance(s, str) and s:
            start = evidence.get("start")
            end = evidence.get("end")
            if isinstance(start, int) and isinstance(end, int):
                return Span(text=s, start=start, end=end)
            evidence = s
    if isinstance(evidence, str) and evidence:
        pos = text.find(evidence)
        return Span(text=evidence, start=max(pos, 0), end=max(pos, 0) + len(evidence))
    return None


class LiveAssist:
    """Turns one call's transcripts into operator prompts, call state and supervisor alerts."""

    def __init__(
        self,
        call_id: str,
        agent_id: str,
        analyzer: TextAnalyzer,
        *,
        mode: str = "live",
        context_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.call_id = call_id
        self.agent_id = agent_id
        self.mode = mode
        self._analyzer = analyzer
        self._clock = clock
        self._context = context_factory() if context_factory else None
        self.started_at = clock()
        self._utterances: dict[str, _Utterance] = {}
        self._shown_referrals: set[str] = set()
        self._shown_knowledge: set[str] = set()
        self._last_empathy_label: str | None = None
        self.level = 0.0
        self.emotion_label = "平静"
        self._intent_scores: dict[str, float] = {}
        self._department_scores: dict[str, float] = {}
        self.referrals: list[str] = []
        self.warnings = 0
        self.critical = False
        self._escalated = False
        self._alert_seq = 0
        self.audio_time = 0.0
        self.alerts: list[Alert] = []

    # ------------------------------------------------------------ public

    def learned_for_final(self, t: Transcript) -> Any:
        """Blocking learned path for a final (run it in a worker thread), or None.

        Pass the result to ``on_transcript(t, refinement=...)`` on the event loop."""
        learn = getattr(self._analyzer, "learned_refinement", None)
        if learn is None or not t.final or t.role == "agent":
            return None
        text = t.text.replace(" ", "") if _is_cjk_spaced(t.text) else t.text
        return learn("caller", text) if text.strip() else None

    def on_transcript(self, t: Transcript, refinement: Any = None) -> list[Event]:
        """Analyse one transcript event; return the prompt, alert and state events it causes."""
        self.audio_time = max(self.audio_time, t.end)
        text = t.text.replace(" ", "") if _is_cjk_spaced(t.text) else t.text
        utt = self._utterances.setdefault(t.utterance_id, _Utterance(role=t.role))
        if not text.strip():
            result: dict[str, Any] = {}
        else:
            result = self._analyze(t.role, text, t.utterance_id, refinement)
        wanted = self._cards_for(t, text, result)
        out: list[Event] = []
        for key, (kind, data, span) in wanted.items():
            card = utt.cards.get(key)
            if card is None:
                pid = f"{self.call_id}:{t.utterance_id}:{kind}:{key[1]}"
                utt.cards[key] = _Card(pid, kind, data)
                out.append(self._prompt(pid, t, kind, "show", span, data))
            elif card.data != data:
                card.data = data
                out.append(self._prompt(card.prompt_id, t, kind, "update", span, data))
        for key in [k for k in utt.cards if k not in wanted]:
            card = utt.cards.pop(key)
            out.append(self._prompt(card.prompt_id, t, card.kind, "withdraw", None, card.data))
        out.extend(self._alerts(t, utt, result, wanted))
        changed = False
        if t.final:
            changed = self._fold_final(t, utt, result)
            self._utterances.pop(t.utterance_id, None)
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
            emotion=EmotionLevel(label=self.emotion_label, intensity=round(self.level, 2)),
            intent=_best(self._intent_scores),
            department=_best(self._department_scores),
            referrals=tuple(self.referrals),
            warnings=self.warnings,
            critical=self.critical,
            mode=self.mode,
        )

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert | None:
        for i, alert in enumerate(self.alerts):
            if alert.alert_id == alert_id:
                acked = dataclasses.replace(alert, acknowledged_by=by, acknowledged_at=at)
                self.alerts[i] = acked
                return acked
        return None

    # ------------------------------------------------------------ internals

    def _analyze(self, role: str, text: str, utterance_id: str, refinement: Any = None) -> dict[str, Any]:
        """Analyse with the call's context; a growing partial replaces its own record in it."""
        ctx = self._context
        refine = getattr(self._analyzer, "refine", None) if refinement is not None else None
        if role != "mixed":
            analysis = self._analyzer.analyze(role, text, ctx, utterance_id=utterance_id)
            if refine is not None and role == "caller":
                analysis = refine(analysis, ctx, utterance_id=utterance_id, refinement=refinement)
            return analysis.to_dict()
        # One mixed channel carries both voices: caller prompts plus banned-phrase checks.
        caller = self._analyzer.analyze("caller", text, ctx, utterance_id=utterance_id)
        if refine is not None:
            caller = refine(caller, ctx, utterance_id=utterance_id, refinement=refinement)
        result = caller.to_dict()
        result["banned"] = self._analyzer.analyze("agent", text).to_dict().get("banned") or []
        return result

    def _prompt(
        self, pid: str, t: Transcript, kind: str, action: str, span: Span | None, data: dict[str, Any]
    ) -> Prompt:
        return Prompt(
            prompt_id=pid,
            call_id=self.call_id,
            role=t.role,
            utterance_id=t.utterance_id,
            kind=kind,
            action=action,
            audio_time=t.end,
            span=span,
            data=data,
        )

    def _cards_for(
        self, t: Transcript, text: str, r: dict[str, Any]
    ) -> dict[tuple[str, str], tuple[str, dict[str, Any], Span | None]]:
        cards: dict[tuple[str, str], tuple[str, dict[str, Any], Span | None]] = {}
        if not r:
            return cards
        if t.role in ("agent", "mixed"):
            for i, hit in enumerate(r.get("banned") or ()):
                span = _span(text, {"text": hit.get("span"), "start": hit.get("start"), "end": hit.get("end")})
                data = {"rule": hit.get("rule"), "said": hit.get("span"), "suggestion": hit.get("suggestion")}
                cards[("banned", f"{hit.get('rule')}-{i}")] = ("banned", data, span)
        if t.role in ("caller", "mixed"):
            if r.get("critical"):
                numbers = [x.get("number") for x in r.get("referrals") or ()]
                data = {"reason": r.get("critical_reason"), "referrals": numbers}
                cards[("critical", "0")] = ("critical", data, _span(text, r.get("critical_span")))
            emotion = r.get("emotion") or {}
            label = emotion.get("label")
            if label in NEGATIVE:
                data = {"label": label, "intensity": round(float(emotion.get("intensity", 0.0)), 1)}
                cards[("emotion", "0")] = ("emotion", data, _span(text, emotion.get("span")))
            if r.get("intent"):
                data = {"intent": r.get("intent"), "department": r.get("department")}
                cards[("category", "0")] = ("category", data, _span(text, r.get("intent_span")))
            for ref in r.get("referrals") or ():
                number = str(ref.get("number"))
                if number in self._shown_referrals:
                    continue
                data = {k: ref.get(k) for k in ("number", "name", "reason", "script") if ref.get(k) is not None}
                cards[("referral", number)] = ("referral", data, _span(text, ref.get("span")))
            knowledge = r.get("knowledge") or ()
            if knowledge:
                top = knowledge[0]
                if str(top.get("id")) not in self._shown_knowledge:
                    data = {k: top.get(k) for k in ("id", "question", "answer", "score", "source", "updated")}
                    cards[("knowledge", "0")] = ("knowledge", data, None)
            empathy = list(r.get("empathy") or ())
            if empathy and label != self._last_empathy_label:
                cards[("empathy", "0")] = ("empathy", {"label": label, "steps": empathy}, None)
        return cards

    def _alerts(
        self,
        t: Transcript,
        utt: _Utterance,
        r: dict[str, Any],
        wanted: dict[tuple[str, str], tuple[str, dict[str, Any], Span | None]],
    ) -> list[Event]:
        out: list[Event] = []
        for (kind, key), (_, data, _) in wanted.items():
            tag = f"{kind}:{key}"
            if tag in utt.alerted:
                continue
            if kind == "critical":
                msg = f"危机信号:{data.get('reason') or '来电人表达轻生或暴力倾向'}"
                out.append(self._new_alert("critical", "critical", msg, t))
                utt.alerted.add(tag)
                self.critical = True
            elif kind == "banned" and t.final:
                msg = f"服务禁语「{data.get('said')}」,应改为:{data.get('suggestion')}"
                out.append(self._new_alert("banned", "warning", msg, t))
                utt.alerted.add(tag)
        if t.final and t.role in ("caller", "mixed") and not self._escalated:
            emotion = r.get("emotion") or {}
            intensity = float(emotion.get("intensity", 0.0) or 0.0)
            if (emotion.get("label") == "愤怒" and intensity >= ESCALATION_LEVEL) or r.get("escalation"):
                self._escalated = True
                msg = f"来电人情绪升级({emotion.get('label', '愤怒')} {intensity:.1f}),建议班长关注或介入"
                out.append(self._new_alert("escalation", "warning", msg, t))
        return out

    def _new_alert(self, kind: str, severity: str, message: str, t: Transcript) -> Alert:
        self._alert_seq += 1
        alert = Alert(
            alert_id=f"{self.call_id}:a{self._alert_seq}",
            call_id=self.call_id,
            agent_id=self.agent_id,
            kind=kind,
            severity=severity,
            message=message,
            audio_time=t.end,
            utterance_id=t.utterance_id,
            created_at=self._clock(),
        )
        self.alerts.append(alert)
        return alert

    def _fold_final(self, t: Transcript, utt: _Utterance, r: dict[str, Any]) -> bool:
        """Update the running call state from a final utterance; True if it changed."""
        before = self.state()
        for (kind, key), card in utt.cards.items():
            if kind == "referral":
                self._shown_referrals.add(key)
                if key not in self.referrals:
                    self.referrals.append(key)
            elif kind == "knowledge":
                self._shown_knowledge.add(str(card.data.get("id")))
            elif kind == "empathy":
                self._last_empathy_label = card.data.get("label")
            elif kind == "banned":
                self.warnings += 1
        if r and t.role in ("caller", "mixed"):
            emotion = r.get("emotion") or {}
            label = emotion.get("label") or "平静"
            intensity = float(emotion.get("intensity", 0.0) or 0.0)
            decayed = self.level * LEVEL_DECAY
            if label in NEGATIVE and intensity >= decayed:
                self.level, self.emotion_label = intensity, label
            else:
                self.level = decayed
                if label in NEGATIVE:
                    pass  # keep the stronger running label
                elif self.level < 0.3:
                    self.emotion_label = label
            if r.get("intent"):
                weight = 1.0 + float(r.get("intent_confidence", 0.0) or 0.0)
                _add_recent(self._intent_scores, r["intent"], weight)
            if r.get("department"):
                _add_recent(self._department_scores, r["department"], 1.0)
            if r.get("critical"):
                self.critical = True
        return self.state() != before


# Weight of earlier evidence each time the caller says something new: a call that opens with a quick
# question and then raises a dispute is about the dispute, but a category said twice outweighs one
# said once just before.
RECENCY = 0.6


def _add_recent(scores: dict[str, float], key: str, weight: float) -> None:
    for k in scores:
        scores[k] *= RECENCY
    scores[key] = scores.get(key, 0.0) + weight


def _best(scores: dict[str, float]) -> str | None:
    return max(scores, key=lambda k: scores[k]) if scores else None


def _is_cjk_spaced(text: str) -> bool:
    """Vosk writes Chinese words separated by spaces; the analyser wants them joined."""
    return " " in text and any("\u4e00" <= c <= "\u9fff" for c in text)


def replay_events(assist: LiveAssist, transcripts: Iterable[Transcript]) -> list[Event]:
    """Run a whole transcript through live assist (training reports, tests)."""
    out: list[Event] = []
    for t in transcripts:
        out.extend(assist.on_transcript(t))
    return out
