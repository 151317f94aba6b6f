"""Trial 3, e5: one operator sentence with two hedges (这个估计问题不大应该很快就能给您解决的) gave two flashes,
two supervisor alerts and a 禁用语 count of 3 for two lapses, and its suggestion invented a deadline
("法定办结时限为3个工作日,我将在第2个工作日中午前…") that contradicted the empathy card (3至5个工作日).
One utterance is one lapse with all its spans; the suggestions take time limits from empathy.toml."""

from __future__ import annotations

import re
from pathlib import Path

from assist.nlp.analyzer import Analyzer
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR, load_toml
from assist.protocol.enums import AlertKind, PromptAction, PromptKind
from assist.protocol.events import Alert, CallState, Prompt
from assist.protocol.payloads import BannedPayload, EmpathyPayload
from tests.support.word_replay import call_lines, replay_words

TRIAL3 = Path(__file__).resolve().parents[1] / "data" / "trial3"
LIMITS = load_toml(DEFAULT_DATA_DIR / "empathy.toml").table("defaults")
WORKDAYS = re.compile(r"第?[0-9一二三四五六七八九十]+(?:至[0-9一二三四五六七八九十]+)?个工作日")


def test_two_hedges_in_one_sentence_are_one_lapse_with_the_empathy_cards_deadline() -> None:
    _, turns = replay_words(Analyzer.load(learned=True), "e5", call_lines(TRIAL3 / "e5-wage-banned.jsonl"))
    events = [e for _, _, evs in turns for e in evs]
    hedged = [e for e in events if isinstance(e, Prompt) and e.kind == PromptKind.BANNED
              and e.action != PromptAction.WITHDRAW and "估计问题不大" in e.data.said]  # type: ignore[union-attr]
    assert len({p.prompt_id for p in hedged}) == 1  # one card (shown, then updated as the words came)
    last = hedged[-1].data
    assert isinstance(last, BannedPayload) and last.said == "估计问题不大…应该很快"
    assert hedged[-1].span is not None and hedged[-1].span.text == "估计问题不大应该很快"
    alerts = [e for e in events if isinstance(e, Alert) and e.kind == AlertKind.BANNED]
    assert len(alerts) == 2 and "估计问题不大…应该很快" in alerts[1].message  # 不归我们管, then the hedges
    assert [e.warnings for e in events if isinstance(e, CallState)][-1] == 2
    # the suggestion promises only the time limits the data defines, those the empathy card gives
    deadline, visit = LIMITS.text("deadline"), LIMITS.text("return_visit")
    assert deadline in last.suggestion and visit in last.suggestion and "第2个工作日" not in last.suggestion
    empathy = [step for e in events if isinstance(e, Prompt) and isinstance(e.data, EmpathyPayload)
               for step in e.data.steps if "工作日" in step]
    assert empathy and all(set(WORKDAYS.findall(t)) <= {deadline, visit} for t in empathy)


def test_the_training_reports_commitment_example_uses_the_same_time_limits() -> None:
    from assist.training.rules import TrainingRules

    example = next(s.example for s in TrainingRules.load().steps if s.name == "行动承诺")
    assert LIMITS.text("deadline") in example and "{" not in example and "第2个工作日" not in example


def test_no_banned_suggestion_writes_a_deadline_by_hand() -> None:
    banned = BannedList.load(DEFAULT_DATA_DIR / "banned.toml")
    wordings = [r.suggestion for r in banned.rules] + list(banned.learned.values())
    allowed = {LIMITS.text("deadline"), LIMITS.text("return_visit")}
    for wording in wordings:
        assert set(WORKDAYS.findall(wording)) <= allowed, wording
    assert any(LIMITS.text("deadline") in w for w in wordings)
