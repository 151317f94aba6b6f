"""Supervisor notices (assist/live/notices.py).  Trial 3, e5: 再拖我们只能去总包公司门口拉横幅了 (a threat of
collective action) reached no supervisor.  It raises one ``collective`` notice (no crisis card), worded by
notices.toml; other threats (堵门, 集体上访, 去政府门口) too, and words that are no threat do not.  Trial 5, c:
三天之内没人联系我,我就去信访局 raises one ``petition`` notice."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.live.notices import Notices
from assist.nlp.analyzer import Analyzer
from assist.nlp.data import DataError
from assist.protocol.enums import AlertKind, PromptKind, Severity
from assist.protocol.events import Alert, Prompt
from tests.support.word_replay import call_lines, replay_words

TRIAL3 = Path(__file__).resolve().parents[1] / "data" / "trial3"
TRIAL5 = TRIAL3.parent / "trial5"


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
    assert [r.kind for r, _ in Notices.load().find(words)] == [AlertKind.COLLECTIVE]


@pytest.mark.parametrize("words", ["我看到小区门口有人拉横幅", "楼下的路口老是堵车", "我想问一下上访要带什么材料",
                                   "公司拖欠工资不给怎么办"])
def test_other_words_are_not(words: str) -> None:
    assert Notices.load().find(words) == []


def test_the_notice_wording_is_checked_when_loaded(tmp_path: Path) -> None:
    path = tmp_path / "notices.toml"
    path.write_text('[collective]\nmessage = "{who}"\npatterns = ["拉横幅"]\n', encoding="utf-8")
    with pytest.raises(DataError, match="said"):
        Notices.load(path)
    path.write_text('[collective]\nmessage = "x"\nseverity = "critical"\npatterns = ["拉横幅"]\n', encoding="utf-8")
    with pytest.raises(DataError, match="severity"):
        Notices.load(path)


def test_c_a_threat_to_go_to_the_petition_office_notifies_the_supervisor() -> None:
    _, turns = replay_words(Analyzer.load(learned=True), "c", call_lines(TRIAL5 / "c-wuye-angry.jsonl"))
    events = [e for _, _, evs in turns for e in evs]
    notices = [e for e in events if isinstance(e, Alert) and e.kind == AlertKind.PETITION]
    assert len(notices) == 1 and notices[0].severity == Severity.WARNING
    assert "信访" in notices[0].message
    assert not any(isinstance(e, Prompt) and e.kind == PromptKind.CRITICAL for e in events)


@pytest.mark.parametrize("words", ["三天之内没人联系我,我就去信访局", "再不解决我只能去市里上访了",
                                   "我要找记者曝光你们", "我准备发到抖音上让大家评评理", "不行我就越级上访"])
def test_threats_to_go_over_the_hotlines_head_are_found(words: str) -> None:
    assert AlertKind.PETITION in [r.kind for r, _ in Notices.load().find(words)]


@pytest.mark.parametrize("words", ["信访局在哪里办公", "网上信访怎么提交", "我想问一下上访要带什么材料",
                                   "电视台的节目很好看"])
def test_questions_about_petitions_are_not(words: str) -> None:
    assert Notices.load().find(words) == []


def test_a_notice_file_may_hold_one_kind(tmp_path: Path) -> None:
    path = tmp_path / "notices.toml"
    path.write_text('[petition]\nmessage = "{said}"\npatterns = ["信访局"]\n', encoding="utf-8")
    assert [r.kind for r, _ in Notices.load(path).find("去信访局")] == [AlertKind.PETITION]
