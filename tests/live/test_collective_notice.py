"""Trial 3, e5: 再拖我们只能去总包公司门口拉横幅了 (a threat of collective action) reached no supervisor.  It
raises one ``collective`` notice (no crisis card), worded by notices.toml; other threats (堵门, 集体上访, 去政
府门口) too, and words that are no threat do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.live.notices import CollectiveRule
from assist.nlp.analyzer import Analyzer
from assist.nlp.data import DataError
from assist.protocol.enums import AlertKind, PromptKind, Severity
from assist.protocol.events import Alert, Prompt
from tests.support.word_replay import call_lines, replay_words

TRIAL3 = Path(__file__).resolve().parents[1] / "data" / "trial3"


def test_e5_banner_threat_notifies_the_supervisor_without_a_crisis_card() -> None:
    _, turns = replay_words(Analyzer.load(learned=True), "e5", call_lines(TRIAL3 / "e5-wage-banned.jsonl"))
    events = [e for _, _, evs in turns for e in evs]
    notices = [e for e in events if isinstance(e, Alert) and e.kind == AlertKind.COLLECTIVE]
    assert len(notices) == 1 and notices[0].severity == Severity.WARNING
    assert "群体性事件" in notices[0].message and "拉横幅" in notices[0].message
    assert not any(isinstance(e, Prompt) and e.kind == PromptKind.CRITICAL for e in events)


@pytest.mark.parametrize("words", ["再拖我们只能去总包公司门口拉横幅了", "明天我们十几个人就去把公司大门给堵了",
                                   "我们准备集体上访", "不解决我就去市政府门口坐着", "我们就去堵门"])
def test_threats_of_collective_action_are_found(words: str) -> None:
    assert CollectiveRule.load().find(words) is not None


@pytest.mark.parametrize("words", ["我看到小区门口有人拉横幅", "楼下的路口老是堵车", "我想问一下上访要带什么材料",
                                   "公司拖欠工资不给怎么办"])
def test_other_words_are_not(words: str) -> None:
    assert CollectiveRule.load().find(words) is None


def test_the_notice_wording_is_checked_when_loaded(tmp_path: Path) -> None:
    path = tmp_path / "notices.toml"
    path.write_text('[collective]\nmessage = "{who}"\npatterns = ["拉横幅"]\n', encoding="utf-8")
    with pytest.raises(DataError, match="said"):
        CollectiveRule.load(path)
    path.write_text('[collective]\nmessage = "x"\nseverity = "critical"\npatterns = ["拉横幅"]\n', encoding="utf-8")
    with pytest.raises(DataError, match="severity"):
        CollectiveRule.load(path)
