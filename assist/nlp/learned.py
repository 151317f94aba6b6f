"""Learned classifiers beside the rules: a model directory written by ``assist train``.

A model directory holds ``model.json`` (label sets, how each head is combined with the
rules, thresholds, figures), ``vocab.txt`` (character n-grams), ``weights.npz`` (IDF,
one linear layer per head, the crisis example banks) and ``MODEL_CARD.md``.

Per head (category, department, emotion) the features are [n-gram TF-IDF | encoder
vector | rule one-hots]; the linear scores are divided by a fitted temperature and
softmaxed (calibrated probabilities).  The *policy*, chosen on validation folds by
``assist train``, says whether the head's answer is the model's (when its probability
reaches ``threshold``, else the rules', else nothing: abstain) or the rules'.

Referral numbers (``referral`` in model.json, ``W_referral``/``b_referral``): one sigmoid per number
learned one-vs-rest; a number is suggested when its probability reaches its threshold (chosen on
validation folds for a precision), ``confident`` above a second, stricter one.

Critical is an OR of three nets, thresholds tuned on validation folds for recall:
the rules, the linear model's probability, and the crisis similarity: mean cosine of
the ``k`` nearest crisis examples minus that of the ``k`` nearest ordinary ones.
Inference is numpy only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assist.nlp.features import FloatArray, NgramSpace, RuleFeatures, RuleView, SparseRow
from assist.nlp.traindata import AGENT_HEADS, CALLER_HEADS, Head

FORMAT = 1
MODEL_FILE = "model.json"
VOCAB_FILE = "vocab.txt"
WEIGHTS_FILE = "weights.npz"
CARD_FILE = "MODEL_CARD.md"
DEFAULT_MODEL_DIR = Path(__file__).parent / "data" / "model"


class ModelError(ValueError):
    """A model directory is missing, incomplete or of another format."""


@dataclass(frozen=True, slots=True)
class Policy:
    use: str  # "model" or "rules"
    threshold: float  # model probability needed to take the model's label
    fallback: str  # below threshold: "rules" or "abstain"


@dataclass(frozen=True, slots=True)
class HeadPrediction:
    label: str | None
    probability: float  # the model's probability for its top label
    model_label: str
    source: str  # "model", "rules" or "abstain"


@dataclass(frozen=True, slots=True)
class CriticalPrediction:
    critical: bool
    probability: float
    similarity: float  # crisis-bank margin (0 without an encoder)
    source: str  # "rules", "model", "similarity" or "" when not critical
    confident: bool = False  # True: the crisis card; False with ``critical``: only a safety question
    sure: bool = False  # confident enough for the card on a call's first sign of danger (``refine.apply``)


@dataclass(frozen=True, slots=True)
class BannedPrediction:
    """An operator utterance: does it hold a banned phrase (rules, or the model above its threshold)?"""

    violation: bool
    probability: float
    source: str  # "rules", "model" or ""
    kind: str | None  # the class the model reads (情绪命令, 推诿 …), None when it abstains


@dataclass(frozen=True, slots=True)
class LearnedReferral:
    """A referral number the model gives (its probability reached the number's threshold)."""

    number: str
    probability: float
    confident: bool  # above the stricter threshold: given even where only emergencies are (a critical utterance)


@dataclass(frozen=True, slots=True)
class LearnedResult:
    heads: dict[Head, HeadPrediction]
    critical: CriticalPrediction | None
    banned: BannedPrediction | None = None
    referrals: tuple[LearnedReferral, ...] = ()  # the model's numbers, most probable first


def linear_scores(weights: FloatArray, bias: FloatArray, row_idx: np.ndarray, row_val: FloatArray,
                  dense: FloatArray) -> npt.NDArray[np.float64]:
    """bias + [sparse n-gram row | dense vector] @ weights, in float64: one score per column."""
    n_sparse = weights.shape[0] - dense.shape[0]
    scores = bias.astype(np.float64).copy()
    if row_idx.size:
        scores += row_val.astype(np.float64) @ weights[row_idx]
    if dense.size:
        scores += dense.astype(np.float64) @ weights[n_sparse:]
    return scores


@dataclass(frozen=True, slots=True)
class ReferralLayer:
    """One-vs-rest sigmoids, one column per number."""

    numbers: tuple[str, ...]
    weights: FloatArray  # (features, numbers)
    bias: FloatArray
    temperatures: FloatArray
    thresholds: tuple[float, ...]
    confident: tuple[float, ...]

    def predict(self, row_idx: np.ndarray, row_val: FloatArray, dense: FloatArray) -> tuple[LearnedReferral, ...]:
        scores = linear_scores(self.weights, self.bias, row_idx, row_val, dense)
        probs = 1.0 / (1.0 + np.exp(-scores / self.temperatures))
        out = [LearnedReferral(n, round(float(p), 4), bool(p >= c))
               for n, p, t, c in zip(self.numbers, probs, self.thresholds, self.confident, strict=True) if p >= t]
        return tuple(sorted(out, key=lambda r: -r.probability))

    @classmethod
    def of(cls, info: dict[str, list[float | str]], weights: FloatArray, bias: FloatArray) -> ReferralLayer:
        return cls(tuple(str(n) for n in info["numbers"]), weights.astype(np.float32), bias.astype(np.float32),
                   np.array([float(t) for t in info["temperatures"]], dtype=np.float64),
                   tuple(float(t) for t in info["thresholds"]), tuple(float(t) for t in info["confident"]))


@dataclass(frozen=True, slots=True)
class Layer:
    labels: tuple[str, ...]
    weights: FloatArray  # (features, classes), or (features, 1) for a binary head
    bias: FloatArray
    temperature: float

    def probabilities(self, row_idx: np.ndarray, row_val: FloatArray, dense: FloatArray) -> FloatArray:
        scores = linear_scores(self.weights, self.bias, row_idx, row_val, dense)
        scores /= self.temperature
        if self.weights.shape[1] == 1:
            p1 = 1.0 / (1.0 + math.exp(-float(scores[0])))
            return np.array([1.0 - p1, p1], dtype=np.float32)
        scores -= scores.max()
        e = np.exp(scores)
        out: FloatArray = (e / e.sum()).astype(np.float32)
        return out


def knn_margin(vec: FloatArray, crisis: FloatArray, calm: FloatArray, k: int) -> float:
    """Mean cosine of the k nearest crisis examples minus that of the k nearest calm ones."""
    def top(bank: FloatArray) -> float:
        if bank.shape[0] == 0:
            return 0.0
        sims = bank @ vec
        kk = min(k, sims.shape[0])
        return float(np.partition(sims, -kk)[-kk:].mean())
    return top(crisis) - top(calm)


class LearnedModel:
    """A loaded model directory; ``predict`` is pure and thread-safe."""

    def __init__(self, meta: dict[str, object], space: NgramSpace, layers: dict[Head, Layer],
                 policies: dict[Head, Policy], crisis: FloatArray, calm: FloatArray, directory: Path,
                 referral: ReferralLayer | None = None) -> None:
        self.meta = meta
        self.space = space
        self.layers = layers
        self.policies = policies
        self.crisis_bank = crisis
        self.calm_bank = calm
        self.directory = directory
        self.referral = referral
        feats = meta["rule_features"]
        assert isinstance(feats, dict)
        self.rule_features = RuleFeatures(feats["categories"], feats["emotions"], feats["departments"],
                                          banned=bool(feats.get("banned", False)))
        self.encoder = str(meta["encoder"])
        self.dim = int(str(meta["dim"]))
        # what the encoder read of an utterance in training (querycap.encoder_text); absent: the whole utterance
        # (models written before the cap), the last query_chars characters, the words as said (before the head)
        self.query_chars = int(str(meta.get("query_chars", 0)))
        self.query_head = int(str(meta.get("query_head", 0)))
        # the knowledge wording table it read utterances in (a copy in the model directory, so that editing the
        # centre's kb_wording.toml never changes what a trained model reads); None: the words as said
        wording = meta.get("query_wording")
        self.wording_file = directory / wording if isinstance(wording, str) and wording else None
        self.emb_weight = float(str(meta["emb_weight"]))
        self.rule_weight = float(str(meta["rule_weight"]))
        crit = meta.get("critical")
        self.critical_rule: dict[str, float] = {}
        if isinstance(crit, dict):
            self.critical_rule = {str(k): float(v) for k, v in crit.items()}
        banned = meta.get("banned")
        has_threshold = isinstance(banned, dict) and "threshold" in banned
        self.banned_threshold = float(banned["threshold"]) if has_threshold else 2.0  # type: ignore[index]

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "?"))

    @property
    def needs_encoder(self) -> bool:
        return self.encoder != "none"

    @classmethod
    def load(cls, directory: Path) -> LearnedModel:
        meta_path = directory / MODEL_FILE
        if not meta_path.is_file():
            raise ModelError(f"{directory}: not a model directory (no {MODEL_FILE}); make one with 'assist train'")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            vocab = (directory / VOCAB_FILE).read_text(encoding="utf-8").split("\n")
            npz = np.load(directory / WEIGHTS_FILE)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{directory}: cannot read the model: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else "?"
            raise ModelError(f"{meta_path}: unsupported model format {found}")
        if vocab and vocab[-1] == "":
            vocab.pop()
        space = NgramSpace(vocab, npz["idf"])
        layers: dict[Head, Layer] = {}
        policies: dict[Head, Policy] = {}
        heads = meta["heads"]
        for name, info in heads.items():
            head = Head(name)
            layers[head] = Layer(tuple(info["labels"]), npz[f"W_{name}"].astype(np.float32),
                                 npz[f"b_{name}"].astype(np.float32), float(info["temperature"]))
            if head is not Head.CRITICAL:
                pol = info["policy"]
                policies[head] = Policy(str(pol["use"]), float(pol["threshold"]), str(pol["fallback"]))
        crisis = npz["crisis_bank"].astype(np.float32) if "crisis_bank" in npz else np.zeros((0, 0), np.float32)
        calm = npz["calm_bank"].astype(np.float32) if "calm_bank" in npz else np.zeros((0, 0), np.float32)
        ref = meta.get("referral")
        referral = ReferralLayer.of(ref, npz["W_referral"], npz["b_referral"]) if isinstance(ref, dict) else None
        return cls(meta, space, layers, policies, crisis, calm, directory, referral)

    def dense(self, vector: FloatArray | None, rules: RuleView) -> FloatArray:
        parts: list[FloatArray] = []
        if self.needs_encoder:
            if vector is None:
                raise ValueError("this model needs the encoder's vector")
            parts.append(vector.astype(np.float32) * self.emb_weight)
        parts.append(self.rule_features.vector(rules) * self.rule_weight)
        return np.concatenate(parts).astype(np.float32)

    def predict(self, cleaned: str, vector: FloatArray | None, rules: RuleView, *,
                agent: bool = False) -> LearnedResult:
        """The caller's heads (category, department, emotion, crisis kind, critical) or, with ``agent``,
        the operator's (banned phrase and its class)."""
        row = self.space.row(cleaned)
        dense = self.dense(vector, rules)
        heads: dict[Head, HeadPrediction] = {}
        rule_labels = {Head.CATEGORY: rules.category, Head.DEPARTMENT: rules.department, Head.EMOTION: rules.emotion}
        wanted = AGENT_HEADS if agent else CALLER_HEADS
        for head, policy in self.policies.items():
            if head not in wanted:
                continue
            layer = self.layers[head]
            probs = layer.probabilities(row.indices, row.values, dense)
            best = int(np.argmax(probs))
            heads[head] = decide(policy, layer.labels[best], float(probs[best]), rule_labels.get(head))
        if agent:
            return LearnedResult(heads, None, self._banned(row, dense, rules, heads))
        critical = None
        if Head.CRITICAL in self.layers:
            layer = self.layers[Head.CRITICAL]
            p = float(layer.probabilities(row.indices, row.values, dense)[1])
            sim = 0.0
            if vector is not None and self.crisis_bank.size:
                sim = knn_margin(vector, self.crisis_bank, self.calm_bank, int(self.critical_rule.get("k", 3)))
            critical = decide_critical(rules.critical, p, sim, self.critical_rule)
        referrals = self.referral.predict(row.indices, row.values, dense) if self.referral is not None else ()
        return LearnedResult(heads, critical, referrals=referrals)

    def _banned(self, row: SparseRow, dense: FloatArray, rules: RuleView,
                heads: dict[Head, HeadPrediction]) -> BannedPrediction | None:
        layer = self.layers.get(Head.VIOLATION)
        if layer is None:
            return None
        p = float(layer.probabilities(row.indices, row.values, dense)[layer.labels.index("true")])
        source = "rules" if rules.banned else "model" if p >= self.banned_threshold else ""
        kind = heads.get(Head.BANNED_KIND)
        return BannedPrediction(bool(source), p, source, kind.model_label if kind is not None else None)


def decide(policy: Policy, model_label: str, probability: float, rule_label: str | None) -> HeadPrediction:
    if policy.use == "rules":
        return HeadPrediction(rule_label, probability, model_label, "rules" if rule_label else "abstain")
    if probability >= policy.threshold:
        return HeadPrediction(model_label, probability, model_label, "model")
    if policy.fallback == "rules" and rule_label is not None:
        return HeadPrediction(rule_label, probability, model_label, "rules")
    return HeadPrediction(None, probability, model_label, "abstain")


def decide_critical(rules: bool, probability: float, similarity: float, rule: dict[str, float]) -> CriticalPrediction:
    """Two tiers: the rules, or the model's probability above its confident threshold, raise the crisis
    card; a net above only its recall threshold (chosen for ``recall_target``), or the crisis-bank
    similarity alone, asks for a safety question.  A model
    without confident thresholds (trained before the tiers) treats every flag as confident."""
    source = ""
    if rules and rule.get("use_rules", 1.0) >= 0.5:
        source = "rules"
    elif probability >= rule.get("model_threshold", 2.0):
        source = "model"
    elif similarity >= rule.get("similarity_threshold", 9.0):
        source = "similarity"
    # the crisis-bank similarity is a net for recall: alone it asks the safety question, never the crisis card
    confident = source == "rules" or (bool(source) and (
        "confident_threshold" not in rule or probability >= rule["confident_threshold"]))
    # a model trained before the third tier: every confident flag is sure
    sure = confident and (source == "rules" or probability >= rule.get("sure_threshold", 0.0))
    return CriticalPrediction(bool(source), probability, similarity, source, confident, sure)
