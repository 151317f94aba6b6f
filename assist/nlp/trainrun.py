"""The work of ``assist train`` (assist.cli.train): read, prepare, cross-validate, fit, write."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assist.nlp.features import RuleFeatures, RuleView, clean
from assist.nlp.kbwording import WORDING_FILE, QueryWording
from assist.nlp.learned import CARD_FILE, FORMAT, MODEL_FILE, VOCAB_FILE, WEIGHTS_FILE
from assist.nlp.querycap import QUERY_CHARS, QUERY_HEAD, encoder_text
from assist.nlp.traindata import (
    AGENT_HEADS,
    CALLER_HEADS,
    CATEGORIES,
    EMOTIONS,
    Example,
    Head,
    TrainDataError,
    check_counts,
    data_hash,
    read_examples,
)
from assist.nlp.trainer import (
    CriticalResult,
    HeadResult,
    Prepared,
    TrainConfig,
    choose_violation,
    cross_validate,
    fit_final,
    weights_digest,
)
from assist.nlp.trainref import ReferralFolds, ReferralResult, card_lines, fit_referral_final, report_dict, report_lines
from assist.nlp.trainref import meta as referral_meta
from assist.nlp.trainreport import binary, figures, render
from assist.protocol.enums import Role


def prepare(examples: list[Example], encoder: str, threads: int, progress: bool, *,
            query_chars: int = QUERY_CHARS, query_head: int = QUERY_HEAD) -> Prepared:
    """Rules and sentence vectors of the examples; the encoder reads ``encoder_text`` of each (the knowledge
    wording, ``query_chars`` characters, ``query_head`` of them from the opening), what the learned path reads
    of an utterance at inference (``LearnedEngine.query``)."""
    from tqdm import tqdm

    from assist.nlp.analyzer import Analyzer
    from assist.nlp.embed import load_embedder

    analyzer = Analyzer.load()
    wording = QueryWording.load(WORDING_FILE)  # copied into the model (``write``): what inference reads in
    rules: list[RuleView] = []
    cleaned: list[str] = []
    queries: list[str] = []
    for e in tqdm(examples, desc="rules", disable=not progress, file=sys.stderr):
        a = analyzer.analyze(Role.AGENT if e.agent else Role.CALLER, e.text)
        rules.append(RuleView.of(a))
        cleaned.append(clean(a.normalized.text))
        queries.append(encoder_text(a.normalized.text, wording, query_chars, query_head))
    vectors = None
    if encoder != "none":
        emb = load_embedder(encoder, threads=threads)
        if emb is None:
            raise TrainDataError(f"the encoder {encoder!r} cannot load; train with --encoder none for a "
                                 "model without sentence vectors")
        chunks = [queries[i:i + 64] for i in range(0, len(queries), 64)]
        parts = [emb.embed_queries(c) for c in tqdm(chunks, desc="encode", disable=not progress, file=sys.stderr)]
        vectors = np.concatenate(parts) if parts else np.zeros((0, emb.dim), np.float32)
    return Prepared(examples, cleaned, vectors, rules)


def train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from assist.nlp.analyzer import Analyzer

    examples: list[Example] = []
    for path in args.data:
        examples += read_examples(path)
    for path in args.crisis_bank:
        examples += read_examples(path, only_critical=True)
    examples, notes = check_counts(examples, minimum=args.min_examples, drop_rare=args.drop_rare)
    for note in notes:
        print(f"assist train: {note}", file=sys.stderr)
    heads = [h for h in (*CALLER_HEADS, *AGENT_HEADS)
             if len({e.label(h) for e in examples if e.label(h) is not None}) >= 2]
    if not heads:
        raise TrainDataError(f"{args.data[0]}: no head has two or more labels to learn")
    if len(examples) < args.folds * 2:
        raise TrainDataError(f"{args.data[0]}: {len(examples)} examples are too few for {args.folds}-fold validation")
    cfg = TrainConfig(folds=args.folds, seed=args.seed, group_folds=args.group_folds)
    # the critical tier's target and floor: the trainer's defaults unless given (one definition, TrainConfig)
    if args.recall_target is not None:
        cfg = dataclasses.replace(cfg, recall_target=args.recall_target)
    if args.critical_precision_floor is not None:
        cfg = dataclasses.replace(cfg, critical_precision_floor=args.critical_precision_floor)
    prep = prepare(examples, args.encoder, args.threads, not args.quiet, query_chars=args.query_chars,
                   query_head=args.query_head)
    intent = Analyzer.load(use_kb=False).intent
    feats = RuleFeatures(CATEGORIES, EMOTIONS, intent.departments)
    ref_folds = ReferralFolds(prep, cfg)
    with tqdm(total=cfg.folds * len(heads), desc="cross-validation", disable=args.quiet, file=sys.stderr) as bar:
        results, crit = cross_validate(prep, feats, cfg, heads, bar.update, ref_folds if ref_folds.numbers else None)
    report = _report(results, crit)
    ref = ref_folds.result()
    if ref is not None:
        print("\n".join(report_lines(ref)))
        report["referrals"] = report_dict(ref)
    banned: dict[str, float] = {}
    if Head.VIOLATION in results:
        res = results[Head.VIOLATION]
        threshold, flags = choose_violation(res, cfg.banned_precision)
        both = binary([t == "true" for t in res.truth], flags)
        rules_only = binary([t == "true" for t in res.truth], [r == "true" for r in res.rules_pred])
        print(f"== banned phrases (operator): rules, or the model from probability {threshold:.3f}: cross-validated "
              f"recall {both.recall:.1%}, precision {both.precision:.1%} (rules alone: recall "
              f"{rules_only.recall:.1%}, precision {rules_only.precision:.1%})")
        report["banned"] = {"combined": both.to_dict(), "rules": rules_only.to_dict()}
        banned = {"threshold": threshold}
    space = fit_final(prep, feats, cfg, results, crit)
    if ref is not None:
        fit_referral_final(space, feats, prep, cfg, ref)
    meta = _write(args, prep, cfg, feats, space, results, crit, report, banned, ref)
    print(f"model {meta['version']} written to {args.out}")
    if args.json:
        print(json.dumps({"version": meta["version"], "figures": report}, ensure_ascii=False))
    return 0


def _report(results: dict[Head, HeadResult], crit: CriticalResult | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for h, r in results.items():
        combined = figures(r.labels, r.truth, r.combined_pred)
        model = figures(r.labels, r.truth, list(r.model_pred))
        rules = figures(r.labels, r.truth, r.rules_pred)
        print(render(f"{h.value} (policy: {r.policy.use}, threshold {r.policy.threshold}, "
                     f"below it: {r.policy.fallback})", combined, rules, model))
        out[h.value] = {"combined": combined.to_dict(), "model": model.to_dict(), "rules": rules.to_dict()}
    if crit is not None:
        comb, rules_only = binary(crit.truth, crit.combined_pred), binary(crit.truth, crit.rules_pred)
        print(f"== critical: {comb.n} examples, {comb.positives} critical\n"
              f"   cross-validated recall {comb.recall:.1%}, precision {comb.precision:.1%} "
              f"(rules alone: recall {rules_only.recall:.1%}, precision {rules_only.precision:.1%}); "
              f"model threshold {crit.model_threshold:.3f}, similarity threshold {crit.similarity_threshold:.3f}")
        card = binary(crit.truth, crit.confident_pred)
        print(f"   crisis card alone (rules, or the model above its confident threshold "
              f"{crit.confident_threshold:.3f}): recall {card.recall:.1%}, "
              f"precision {card.precision:.1%}; the other flags ask a safety question; the model alone raises "
              f"the card on a call's first sign from {crit.sure_threshold:.3f}")
        out["critical"] = {"combined": comb.to_dict(), "rules": rules_only.to_dict(), "crisis_card": card.to_dict()}
    return out


def _write(args: argparse.Namespace, prep: Prepared, cfg: TrainConfig, feats: RuleFeatures, space: Any,
           results: dict[Head, HeadResult], crit: CriticalResult | None, report: dict[str, Any],
           banned: dict[str, float], ref: ReferralResult | None = None) -> dict[str, Any]:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[np.generic]] = {"idf": space.idf}
    heads: dict[str, Any] = {}
    for h, r in results.items():
        arrays[f"W_{h.value}"], arrays[f"b_{h.value}"] = r.weights, r.bias
        heads[h.value] = {"labels": list(r.labels), "temperature": r.temperature, "c": r.c,
                          "policy": {"use": r.policy.use, "threshold": r.policy.threshold,
                                     "fallback": r.policy.fallback}}
    critical: dict[str, float] = {}
    if crit is not None:
        arrays["W_critical"], arrays["b_critical"] = crit.weights, crit.bias
        heads["critical"] = {"labels": ["false", "true"], "temperature": crit.temperature, "c": crit.c}
        critical = {"model_threshold": crit.model_threshold, "similarity_threshold": crit.similarity_threshold,
                    "use_rules": crit.use_rules, "k": float(cfg.k), "confident_threshold": crit.confident_threshold,
                    "sure_threshold": crit.sure_threshold}
        if prep.vectors is not None:
            pos = [i for i, e in enumerate(prep.examples) if e.critical is True]
            neg = [i for i, e in enumerate(prep.examples) if e.critical is False]
            arrays["crisis_bank"] = prep.vectors[pos].astype(np.float16)
            arrays["calm_bank"] = prep.vectors[neg].astype(np.float16)
    if ref is not None:
        arrays["W_referral"], arrays["b_referral"] = ref.weights, ref.bias
    digest = weights_digest(arrays)
    dhash = data_hash([*args.data, *args.crisis_bank])
    wording_sha = hashlib.sha256(WORDING_FILE.read_bytes()).hexdigest()
    now = datetime.now(UTC)
    meta: dict[str, Any] = {
        "format": FORMAT, "version": f"{now:%Y%m%d}-{digest[:8]}", "created": now.isoformat(timespec="seconds"),
        "data": [str(p) for p in [*args.data, *args.crisis_bank]], "data_sha256": dhash, "weights_sha256": digest,
        "examples": len(prep.examples), "encoder": args.encoder if prep.vectors is not None else "none",
        "dim": 0 if prep.vectors is None else int(prep.vectors.shape[1]),
        "query_chars": args.query_chars if prep.vectors is not None else 0,
        "query_head": args.query_head if prep.vectors is not None else 0,
        "query_wording": WORDING_FILE.name if prep.vectors is not None else "",  # a copy beside model.json
        "query_wording_sha256": wording_sha if prep.vectors is not None else "",
        "emb_weight": cfg.emb_weight, "rule_weight": cfg.rule_weight,
        "rule_features": {"categories": list(CATEGORIES), "emotions": list(EMOTIONS), "banned": True,
                          "departments": [n.split("=", 1)[1] for n in feats.names if n.startswith("department=")]},
        "train": {"folds": cfg.folds, "group_folds": cfg.group_folds,
                  "seed": cfg.seed, "c_grid": list(cfg.c_grid), "max_features": cfg.max_features,
                  "min_df": cfg.min_df, "recall_target": cfg.recall_target,
                  "critical_precision_floor": cfg.critical_precision_floor,
                  "confident_precision": cfg.confident_precision, "sure_precision": cfg.sure_precision,
                  "banned_precision": cfg.banned_precision,
                  "referral_min_positives": cfg.referral_min_positives, "referral_precision": cfg.referral_precision,
                  "referral_confident_precision": cfg.referral_confident_precision, "referral_c": cfg.referral_c},
        "heads": heads, "critical": critical, "banned": banned, "figures": report,
    }
    if ref is not None:
        meta["referral"] = referral_meta(ref, cfg)
    if prep.vectors is None:
        meta["encoder"] = "none"
    (out / VOCAB_FILE).write_text("\n".join(space.vocabulary) + "\n", encoding="utf-8")
    if prep.vectors is not None:
        shutil.copyfile(WORDING_FILE, out / WORDING_FILE.name)
    np.savez_compressed(out / WEIGHTS_FILE, **arrays)  # type: ignore[arg-type]
    (out / MODEL_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / CARD_FILE).write_text(_card(meta), encoding="utf-8")
    return meta


def _reads(meta: dict[str, Any]) -> str:
    chars, head = int(meta.get("query_chars", 0)), int(meta.get("query_head", 0))
    wording = " in the knowledge base's wording" if meta.get("query_wording") else ""
    if chars <= 0:
        return f"all the characters{wording}"
    if head <= 0:
        return f"the last {chars} characters{wording}"
    return f"{chars} characters{wording} (the first {min(head, chars)} and the last {chars - min(head, chars)})"


def _card(meta: dict[str, Any]) -> str:
    lines = [f"# Model card: analysis model {meta['version']}", "",
             f"- created: {meta['created']} by `assist train`",
             f"- data: {', '.join(meta['data'])} ({meta['examples']} examples), sha256 `{meta['data_sha256']}`",
             f"- weights sha256 (arrays, independent of file dates): `{meta['weights_sha256']}`",
             f"- sentence encoder: {meta['encoder']} (dim {meta['dim']}), reading "
             f"{_reads(meta)} of an utterance",
             f"- training: {meta['train']}", "", "## Label sets", ""]
    for name, info in meta["heads"].items():
        pol = info.get("policy")
        how = f"policy {pol['use']}, threshold {pol['threshold']}, below it {pol['fallback']}, " if pol else ""
        lines.append(f"- **{name}** ({how}temperature {info['temperature']:.3f}): {' '.join(info['labels'])}")
    lines += ["", "## Cross-validated figures", "", "| head | accuracy | macro-F1 | model alone | rules alone |",
              "|---|---|---|---|---|"]
    for name, fig in meta["figures"].items():
        if name in ("critical", "banned", "referrals"):
            continue
        c, m, r = fig["combined"], fig["model"], fig["rules"]
        lines.append(f"| {name} | {c['accuracy']:.1%} | {c['macro_f1']:.1%} | {m['accuracy']:.1%} "
                     f"| {r['accuracy']:.1%} |")
    if "critical" in meta["figures"]:
        c, r = meta["figures"]["critical"]["combined"], meta["figures"]["critical"]["rules"]
        lines += ["", f"Critical: recall {c['recall']:.1%}, precision {c['precision']:.1%} "
                  f"on {c['positives']} critical of {c['n']} "
                  f"(rules alone: recall {r['recall']:.1%}, precision {r['precision']:.1%}); "
                  f"thresholds {meta['critical']}."]
        card = meta["figures"]["critical"].get("crisis_card")
        if card is not None:
            lines += ["", f"Crisis card alone (rules, or the model above its confident threshold): recall "
                      f"{card['recall']:.1%}, precision {card['precision']:.1%}; "
                      "the other flags ask a safety question."]
    if "banned" in meta["figures"]:
        c, r = meta["figures"]["banned"]["combined"], meta["figures"]["banned"]["rules"]
        lines += ["", f"Banned phrases (operator): recall {c['recall']:.1%}, precision {c['precision']:.1%} "
                  f"with the rules (rules alone: recall {r['recall']:.1%}, precision {r['precision']:.1%}); "
                  f"model threshold {meta['banned'].get('threshold')}."]
    if "referral" in meta and "referrals" in meta["figures"]:
        lines += card_lines(meta["referral"], meta["figures"]["referrals"])
    lines += ["", "Figures are k-fold cross-validated on the training data: expect lower figures on wording "
              "unlike it (docs/nlp-evaluation.md).", ""]
    return "\n".join(lines)
