"""Analyzer facade: one utterance in, one ``Analysis`` out (docs/analysis.md).

``Analyzer.load()`` compiles every data file once; ``analyze(role, text, context)``
normalises the text and, for the caller, finds emotion (+ critical signals and
escalation signs), request category, department, referrals, knowledge-base answers
and empathy scripts; for the agent, banned phrases.  A ``CallContext`` (one per
call, owned by the caller of ``analyze``) carries the call's earlier caller
utterances so escalation across utterances is detected.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from assist.nlp.analysis import Analysis as Analysis
from assist.nlp.analysis import CallContext as CallContext
from assist.nlp.analysis import EmotionReading as EmotionReading
from assist.nlp.analysis import UtteranceRecord as UtteranceRecord
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.emotion import ANGER, EmotionModel, EmotionResult
from assist.nlp.empathy import EmpathyScripts
from assist.nlp.intent import IntentModel
from assist.nlp.kb import KnowledgeBase
from assist.nlp.kbwording import QueryWording
from assist.nlp.normalize import Normalized, Normalizer
from assist.nlp.referral import Referral, ReferralTable
from assist.nlp.tokenize import Tokenizer
from assist.nlp.weaksigns import MEDICAL, WeakSigns
from assist.protocol.enums import Category, Emotion, Role

if TYPE_CHECKING:
    from assist.nlp.kbhybrid import HybridKb
    from assist.nlp.refine import LearnedEngine, Refinement
KB_FILES: tuple[str, ...] = ("kb.jsonl", "kb.csv")


THREAT_SIGNALS = frozenset({"violence", "threat_armed"})  # emotion.toml [[critical]]: the caller threatens others


class Analyzer:
    """Holds every compiled resource; safe to share between calls (no mutable state
    except the per-instance pinyin reading caches)."""

    def __init__(
        self,
        *,
        normalizer: Normalizer,
        emotion: EmotionModel,
        intent: IntentModel,
        referrals: ReferralTable,
        banned: BannedList,
        empathy: EmpathyScripts,
        kb: KnowledgeBase | None,
        kb_limit: int = 3,
        learned: LearnedEngine | None = None,
        weak_signs: WeakSigns | None = None,
    ) -> None:
        self.normalizer = normalizer
        self.emotion = emotion
        self.intent = intent
        self.referrals = referrals
        self.banned = banned
        self.empathy = empathy
        self.kb = kb
        self.kb_limit = kb_limit
        self.learned = learned  # the learned path of analyze_final (None: rules only)
        self.weak_signs = weak_signs if weak_signs is not None else WeakSigns.load()  # what a weak guess needs
        self.hybrid: HybridKb | None = None  # fused BM25 + dense knowledge search (with an encoder)
        if learned is not None and kb is not None:
            embedder = learned.embedder()
            if embedder is not None:
                from assist.nlp.kbhybrid import HybridKb

                self.hybrid = HybridKb(kb, embedder, normalizer=normalizer)

    @classmethod
    def load(
        cls,
        data_dir: Path | None = None,
        kb_path: Path | None = None,
        *,
        use_kb: bool = True,
        tokenizer: Tokenizer | None = None,
        nlp_model: Path | None = None,
        learned: bool = False,
    ) -> Analyzer:
        """Load and validate all data files of ``data_dir`` (default: the shipped ones).

        The knowledge base is ``kb_path`` if given, else ``kb.jsonl``/``kb.csv`` of
        ``data_dir``, else the shipped one.  ``tokenizer``: an already built
        ``Tokenizer`` to share with the knowledge base (building one takes ~1 s).
        Raises ``DataError`` (or the knowledge base's ``KbError``) naming the file
        and entry on invalid data.  ``nlp_model`` (a directory written by ``assist
        train``), or ``learned=True`` for the shipped model, enables ``analyze_final``'s
        learned path (assist.nlp.refine; ``ModelError`` when the directory is invalid).
        """
        base = data_dir if data_dir is not None else DEFAULT_DATA_DIR
        fallback = DEFAULT_DATA_DIR

        def pick(name: str) -> Path:
            path = base / name
            return path if path.exists() or data_dir is None else fallback / name

        normalize_file = pick("normalize.toml")
        normalizer = Normalizer.load(normalize_file) if normalize_file.exists() else Normalizer()
        kb = None
        if use_kb:
            if kb_path is None:
                kb_path = next((base / n for n in KB_FILES if (base / n).exists()), fallback / KB_FILES[0])
            kb = KnowledgeBase.load(kb_path, tokenizer, wording=QueryWording.load(pick("kb_wording.toml")))
        emotion = EmotionModel.load(pick("emotion.toml"))
        banned = BannedList.load(pick("banned.toml"))
        referrals = ReferralTable.load(pick("referrals.toml"), banned.sent_away)
        return cls(
            normalizer=normalizer,
            emotion=emotion,
            intent=IntentModel.load(pick("intent.toml"), pick("departments.toml"), emotion.negation),
            referrals=referrals,
            banned=banned,
            empathy=EmpathyScripts.load(pick("empathy.toml"), referrals),
            kb=kb,
            learned=_learned(nlp_model) if nlp_model is not None or learned else None,
            weak_signs=WeakSigns.load(pick("weak_signs.toml"), pick("safety_check.toml")),
        )

    def analyze(self, role: Role, text: str, context: CallContext | None = None, *,
                utterance_id: str | None = None) -> Analysis:
        """Analyse one utterance of ``role`` (caller, agent or mixed; its wire string is accepted too)."""
        if role not in tuple(Role):
            raise ValueError(f"role must be one of {', '.join(Role)}, got {role!r}")
        role = Role(role)
        norm = self.normalizer(text)
        if role is Role.AGENT:
            department = context.department if context is not None else None
            crisis = context.crisis_numbers if context is not None else None
            threat = context is not None and context.threat
            hits = self.banned.find(norm.text, department=department, crisis=crisis, threat=threat)
            if context is not None and self.weak_signs.asks_safety(norm.text, sign_up=context.any_sign()):
                # the caller's next words answer it (refine: a second sign, or a yes)
                context.safety_asked(danger=self.weak_signs.asks_about_danger(norm.text),
                                     explicit=self.weak_signs.questions.asks(norm.text) is not None)
            return Analysis(role=role, text=text, normalized=norm, banned=tuple(hits),
                            evidence={"banned": tuple(h.span for h in hits)})
        return self._caller(role, text, norm, context, utterance_id)

    def analyze_final(self, role: Role, text: str, context: CallContext | None = None, *,
                      utterance_id: str | None = None) -> Analysis:
        """``analyze`` plus the learned path (encoder, learned heads, crisis nets) when loaded.

        Blocking (~20 ms with the encoder): call it from a worker thread on finals, never on
        the event loop; partials use ``analyze``."""
        if context is not None and utterance_id is None:
            utterance_id = context.new_id()
        analysis = self.analyze(role, text, context, utterance_id=utterance_id)
        if self.learned is None:
            return analysis
        return self.refine(analysis, context, utterance_id=utterance_id)

    def word_starts(self, text: str) -> frozenset[int]:
        """Where words start in normalised ``text`` (the knowledge base's segmenter; none without one)."""
        return self.kb.tokenizer.word_starts(text) if self.kb is not None else frozenset()

    @property
    def learns(self) -> bool:
        """A learned model runs beside the rules (``learned_refinement`` can return something)."""
        return self.learned is not None

    def model_summary(self) -> str:
        """Which learned analysis model runs (its version and encoder), or that analysis is rules only
        and why: for the startup log and ``/stats`` (a new user cannot tell otherwise)."""
        from assist.nlp.learned import DEFAULT_MODEL_DIR, MODEL_FILE

        if self.learned is not None:
            model = self.learned.model
            encoder = f", encoder {model.encoder}" if model.needs_encoder else ""
            return f"learned analysis model {model.version}{encoder}"
        shipped = DEFAULT_MODEL_DIR / MODEL_FILE
        if not shipped.is_file():
            return f"rules only: no learned analysis model ({shipped} not found; `assist train` builds one)"
        return "rules only: the learned analysis model was not loaded (not requested)"

    def learned_refinement(self, role: Role, text: str, *, defer_search: bool = False) -> Refinement | None:
        """The learned decisions for one utterance, without the call context.

        Thread-safe and blocking (~40 ms): the server runs it in a worker thread on finals and stable partials,
        then applies it with ``refine(..., refinement=...)``.  ``defer_search``: a knowledge search that needs a
        second encoder pass is left to ``learned_search`` (``refine.compute``)."""
        if self.learned is None:
            return None
        from assist.nlp.refine import compute

        return compute(self, self.analyze(role, text), defer_search=defer_search)

    def learned_search(self, refinement: Refinement) -> Refinement:
        """Blocking: ``refinement`` with the knowledge search it left pending (``refine.search_pending``)."""
        from assist.nlp.refine import search_pending

        return search_pending(self, refinement)

    def refine(self, a: Analysis, context: CallContext | None = None, *, utterance_id: str | None = None,
               refinement: Refinement | None = None) -> Analysis:
        """``a`` with the learned model's decisions (unchanged without one): the caller's heads, or for
        the operator a banned-phrase warning the rules did not give."""
        if self.learned is None or not a.normalized.text:
            return a
        from assist.nlp.refine import apply, compute

        if refinement is None:
            refinement = compute(self, a)
        return apply(self, a, refinement, context, utterance_id)

    # ------------------------------------------------------------ caller side

    def _caller(
        self, role: Role, text: str, norm: Normalized, context: CallContext | None, utterance_id: str | None
    ) -> Analysis:
        t = norm.text
        emo = self.emotion.analyze(t)
        # 气话: the self-harm signal said in frustration (烦得想跳楼) with no cue and no danger before: a sign that
        # asks the general safety question, not the crisis card (weak_signs.toml, the fourth new-user trial)
        vented = tuple(s for s in emo.critical if self.weak_signs.vented(s.id, t, s.span.start, s.span.end))
        if vented and context is not None and context.danger_seen(utterance_id):
            vented = ()  # after an earlier sign it is a second one, not venting
        if vented:
            kept = tuple(s for s in emo.critical if s not in vented)
            label, intensity = (emo.label, emo.intensity) if kept else self.emotion.plain_label(emo.scores)
            emo = dataclasses.replace(emo, critical=kept, label=label, intensity=round(intensity, 3))
        knowledge = tuple(self.kb.search(t, limit=self.kb_limit)) if self.kb is not None and t else ()
        dep = self.intent.department(t)
        department = dep.name
        if department is None and knowledge and knowledge[0].department in self.intent.departments:
            department = knowledge[0].department
        first: list[Referral] = []
        for signal in emo.critical:
            for number in signal.referrals:
                ref = self.referrals.get(number, reason=signal.reason, span=signal.span, crisis=True)
                if ref is not None:
                    first.append(ref)
        referrals = self.referrals.find(t, first=first)
        emergencies = [r for r in referrals if r.critical]
        if emergencies and not emo.critical:
            medical = set(self.referrals.crisis_kinds.get(MEDICAL, ()))
            if {r.number for r in emergencies} <= medical \
                    and self.weak_signs.bereaved(t, [(r.span.start, r.span.end) for r in emergencies if r.span]):
                # a relative's death told with its symptoms (说胸口闷…抢救了一个多小时也没救过来…医生说是心梗): that
                # emergency is over, no 120 and no crisis card in a funeral-subsidy call (trial 7, t3; weak_signs.toml)
                referrals = [r for r in referrals if not (r.critical and r.number in medical)]
                emergencies = []
        urgent = [r for r in referrals if r.urgent]
        signals = [name for name, found in (("critical", emo.critical), ("emergency", emergencies),
                                            ("urgent", urgent)) if found]
        signals += [f"referral:{r.number}" for r in referrals]
        cat = self.intent.category(t, department=department, signals=signals)
        emo = self.emotion.with_prior(emo, "emergency" if emergencies else cat.name)

        history = context.history(exclude=utterance_id) if context is not None else []
        reasons = [s.id for s in emo.escalation] + self._context_escalation(emo, history)
        critical = bool(emo.critical or emergencies)
        reasons_text = [s.reason for s in emo.critical] + [f"{r.critical_reason}({r.number})" for r in emergencies]
        critical_reason = "; ".join(dict.fromkeys(reasons_text)) if critical else None
        at_once = self.empathy.urgent_matter(t)  # 急办: a hazard now, no 3至5个工作日 (venting is not)
        empathy = self.empathy.scripts(
            emotion=emo.label, intensity=emo.intensity, intent=cat.name, department=department,
            critical=bool(emo.critical), referrals=tuple(r.number for r in referrals), urgent=at_once,
        )
        if context is not None:
            context.record(UtteranceRecord(emo.label, emo.intensity, tuple(s.id for s in emo.escalation),
                                           cat.name, department, critical,
                                           _crisis_numbers(first, emergencies) if critical else (),
                                           flagged=critical or bool(vented), strong=critical or emo.label == "绝望",
                                           threat=any(s.id in THREAT_SIGNALS for s in emo.critical)),
                           utterance_id)
        return Analysis(
            role=role, text=text, normalized=norm,
            intent=None if cat.name is None else Category(cat.name), department=department,
            emotion=EmotionReading(Emotion(emo.label), emo.intensity),
            referrals=tuple(referrals), knowledge=knowledge, empathy=tuple(empathy),
            critical=critical, critical_reason=critical_reason, urgent=at_once,
            escalation=bool(reasons), escalation_reasons=tuple(dict.fromkeys(reasons)),
            escalation_why=tuple(dict.fromkeys(s.reason for s in emo.escalation)),
            evidence={
                "emotion": emo.evidence,
                "intent": cat.evidence,
                "department": dep.evidence,
                "critical": tuple(s.span for s in emo.critical)
                + tuple(r.span for r in emergencies if r.span is not None),
                "escalation": tuple(s.span for s in emo.escalation),
                "referrals": tuple(r.span for r in referrals if r.span is not None),
            },
            scores={"emotion": emo.scores, "intent": cat.scores, "department": dep.scores},
            safety_question=self.referrals.safety_question(None) if vented and not critical else None,
        )

    def _context_escalation(self, emo: EmotionResult, history: list[UtteranceRecord]) -> list[str]:
        rules = self.emotion.context
        reasons: list[str] = []
        if emo.escalation:
            earlier = sum(1 for r in history if r.escalation_signs)
            if earlier + 1 >= rules.repeat_signals and earlier > 0:
                reasons.append("repeated_escalation")
        if history and emo.label == ANGER:
            prev = history[-1]
            prev_anger = prev.intensity if prev.emotion == ANGER else 0.0
            if prev_anger >= rules.sustained_anger and emo.intensity >= rules.sustained_anger:
                reasons.append("sustained_anger")
            if emo.intensity >= 0.6 and emo.intensity - prev_anger >= rules.rising_step and \
                    any(r.emotion == ANGER for r in history):
                reasons.append("anger_rising")
        return reasons


def _crisis_numbers(first: list[Referral], emergencies: list[Referral]) -> tuple[str, ...]:
    """The numbers a critical utterance gives: those of its critical signals, then emergencies."""
    return tuple(dict.fromkeys(r.number for r in (*first, *emergencies)))


def _learned(directory: Path | None) -> LearnedEngine:
    from assist.nlp.refine import LearnedEngine

    return LearnedEngine.load(directory)
