"""bench/label_agreement.py and the second labellers' files (tests/data/nlp_eval/relabel)."""

from __future__ import annotations

from assist.nlp.traindata import CATEGORIES, EMOTIONS
from bench.label_agreement import EVAL, RELABELS, agreement, load


def test_agreement_reads_the_other_against_the_gold() -> None:
    gold = {"a": {"category": "求助", "emotion": "平静", "department": "公安", "critical": True,
                  "referrals": ["110", "120"]},
            "b": {"category": "咨询", "emotion": "焦虑", "department": "人社", "critical": False,
                  "referrals": ["12333"]}}
    other = {"a": {"category": "求助", "emotion": "焦虑", "department": "公安", "critical": True, "referrals": ["110"]},
             "b": {"category": "咨询", "emotion": "焦虑", "department": "民政", "critical": True, "referrals": []}}
    got = agreement(gold, other)
    assert (got.category, got.emotion, got.department) == (1.0, 0.5, 0.5)
    assert (got.critical_recall, got.critical_precision) == (1.0, 0.5)  # both flagged, one at risk
    assert got.referral_recall == 1 / 3  # 110 of 110, 120, 12333


def test_every_relabelled_line_has_labels_the_schema_allows() -> None:
    for version, names in RELABELS.items():
        writer = load(EVAL / f"blind_{version}" / "caller.jsonl")
        for name in names:
            labels = load(EVAL / "relabel" / f"{name}.jsonl")
            assert labels.keys() == writer.keys(), name
            for row in labels.values():
                assert row["category"] in CATEGORIES and row["emotion"] in EMOTIONS, row
                assert isinstance(row["critical"], bool) and isinstance(row["referrals"], list), row
