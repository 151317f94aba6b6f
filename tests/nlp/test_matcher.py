"""assist/nlp/matcher.py: a pattern's ``hit`` group is its hit."""

from __future__ import annotations

import re

from assist.nlp.analyzer import Analyzer
from assist.nlp.matcher import Entry, PhraseMatcher


def test_a_hit_group_is_the_hit_and_the_words_before_it_only_decide() -> None:
    clause = re.compile(r"(?:^|(?<=[,.]))(?:(?!上次)[^,.])*?(?P<hit>按在地上打)")
    whole = re.compile(r"被[^,.]{0,4}按在地上打")
    matcher = PhraseMatcher([Entry("hit", patterns=(clause,)), Entry("whole", patterns=(whole,))])
    found = {h.key: (h.start, h.end, h.text) for h in matcher.find("我爸现在被保安按在地上打", longest_only=False)}
    assert found["hit"] == (7, 12, "按在地上打")  # not the clause before it
    assert found["whole"] == (4, 12, "被保安按在地上打")  # no group: the whole match
    assert "hit" not in {h.key for h in matcher.find("上次我爸被保安按在地上打")}  # the words before decide


def test_the_timing_rules_read_a_tight_hit() -> None:
    """The review of stop 23: a pattern that read its whole sentence hid 昨天 before its hit from the timing rules."""
    an = Analyzer.load(learned=False)
    assert not an.analyze("caller", "昨天我被困在电梯里半小时,后来消防把我救出来了,没受伤。我要投诉维保公司").critical
    assert an.analyze("caller", "我被困在电梯里半小时了,喊了没人应").critical


def test_an_empty_hit_group_falls_back_to_the_whole_match() -> None:
    """The second review of stop 23: (?P<hit>x*)abc on abc took nothing and the match was lost."""
    matcher = PhraseMatcher([Entry("k", patterns=(re.compile(r"(?P<hit>x*)abc"),))])
    assert [(h.start, h.end) for h in matcher.find("abc")] == [(0, 3)]
