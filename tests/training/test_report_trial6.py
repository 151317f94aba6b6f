"""The training report on trial 6's calls (tests/data/trial6, CC0), replayed through a real server: a call
closed on a caller at risk before any transfer is the first finding (M12), one closed after the transfer is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.nlp.crisis_rules import CrisisRules
from assist.protocol.decode import decode_events
from assist.training.report import build_report
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules
from assist.web.server import AssistServer
from tests.support.training import replay_file

TRIAL6 = Path(__file__).resolve().parents[1] / "data" / "trial6"


async def test_c1_closing_on_a_widows_farewell_is_the_first_finding(server: AssistServer,
                                                                     rules: TrainingRules) -> None:
    events = await replay_file(server, TRIAL6 / "c1-pension-late-risk.jsonl", "t6-c1")
    report = build_report(decode_events(events), rules)
    assert report.crisis is not None and report.crisis.ended is not None
    assert "感谢您的来电再见" in (report.crisis.ended.said or "") and report.crisis.ended.time == pytest.approx(75.4)
    assert report.suggestions[0].startswith("01:15 未转接就结束通话")
    assert "✗ 未转接就结束通话 [01:15]" in render_text(report)


async def test_c2_closing_after_the_transfer_is_no_finding(server: AssistServer, rules: TrainingRules) -> None:
    events = await replay_file(server, TRIAL6 / "c2-chestpain-downplay.jsonl", "t6-c2")
    report = build_report(decode_events(events), rules)
    assert report.crisis is not None and report.crisis.ended is None


async def test_c7_the_suggested_wording_names_the_calls_department(server: AssistServer, rules: TrainingRules) -> None:
    """L7: 责任表态's wording said 此事由承办部门主办 when the call's department (人社) was known."""
    events = await replay_file(server, TRIAL6 / "c7-wage-then-sue.jsonl", "t6-c7")
    report = build_report(decode_events(events), rules)
    assert report.category is not None and report.category.department == "人社"
    step = next(s for s in report.empathy.steps if s.step == "责任表态")
    assert "此事由人社部门主办" in step.expected and "{department}" not in step.expected


@pytest.mark.parametrize(("last", "flagged"), [
    ('{"role": "agent", "start": 75.4, "end": 77.0, "text": "行 那就这样吧"}', True),  # no 再见: still closed by her
    ('{"role": "agent", "start": 75.4, "end": 77.0, "text": "行 那就这样吧"}\n'
     '{"role": "caller", "start": 77.2, "end": 77.6, "text": "嗯"}', True),  # a backchannel does not hide it
    # the caller hung up (new-user trial 7: read as the operator's ending): the caller's hang-up and the call-back
    ('{"role": "caller", "start": 75.4, "end": 77.0, "text": "就这样吧 我挂了"}', False),
    # the caller answering the operator's goodbye is the operator's ending (the independent review of stop 19)
    ('{"role": "agent", "start": 75.4, "end": 77.0, "text": "行 那就先这样吧 再见"}\n'
     '{"role": "caller", "start": 77.2, "end": 78.6, "text": "嗯 好 那就这样吧 再见"}', True),
    ('{"role": "caller", "start": 75.4, "end": 77.0, "text": "算了 我不跟你们说了"}\n'
     '{"role": "agent", "start": 78.0, "end": 79.5, "text": "喂 喂 阿姨您还在吗"}', False),
])
async def test_c1_without_closing_words_the_operators_last_line_closed_the_call(
        server: AssistServer, rules: TrainingRules, tmp_path: Path, last: str, flagged: bool) -> None:
    """Review of stop 15: a hang-up without 再见 on a caller at risk was not named (it needed closing words)."""
    lines = (TRIAL6 / "c1-pension-late-risk.jsonl").read_text(encoding="utf-8").splitlines()
    call = tmp_path / "c1-no-goodbye.jsonl"
    call.write_text("\n".join([*lines[:-1], last]) + "\n", encoding="utf-8")
    report = build_report(decode_events(await replay_file(server, call, f"t6-c1-{flagged}-{len(last)}")), rules)
    assert report.crisis is not None and report.crisis.ended is not None
    if flagged:
        assert "这样吧" in (report.crisis.ended.said or "")
        assert report.suggestions[0].startswith("01:15 未转接就结束通话")
    else:
        assert report.crisis.ended.item == "来电人挂断,未完成转接"
        assert "回拨" in report.crisis.ended.expected and report.crisis.ended.said
        assert report.suggestions[0].startswith("01:15 来电人挂断,未完成转接")
        assert "未转接就结束通话" not in render_text(report)


def test_each_kinds_own_wording_is_credited_by_its_item() -> None:
    """L8: a kind's own wording (by_kind) must do the item it suggests, as `expected` does."""
    rules = CrisisRules.load()
    worded = [(item, kind, text) for item in rules.items for kind, text in item.by_kind]
    assert {item.name for item, _, _ in worded} == {"情绪承接", "稳住来电人"}
    transfer = next(i for i in rules.items if i.name == "转接处置")
    for item, kind, text in worded:
        assert item.said_in(text, (), [kind], rules.tells), (item.name, kind, text)
        assert item.wording([kind]) == text != item.expected
        # read out, it must not pass the transfer item without a transfer (stop 16's review)
        numbers = ("110", "119", "120", "122", "12356")
        assert not transfer.said_in(text, numbers, (), rules.tells), (item.name, kind, text)
    steady = next(i for i in rules.items if i.name == "稳住来电人")
    assert "离开" in steady.wording(["燃气泄漏"])  # not stay indoors
    # ... nor credited for it in a gas leak
    assert not steady.said_in("请您先不要挂电话", (), ["燃气泄漏"], rules.tells)
    assert steady.said_in("请您先不要挂电话", (), ["医疗急症"], rules.tells)
    assert rules.items[0].wording(["自伤自杀"]) == rules.items[0].expected
    assert rules.items[0].wording(["自伤自杀", "医疗急症"]) == rules.items[0].expected  # pills taken: the leading kind


async def test_p3_the_gas_leaks_missing_items_are_worded_for_a_gas_leak(server: AssistServer,
                                                                       rules: TrainingRules) -> None:
    """L8: the gas-leak call was told 我能感受到您现在很难受…您慢慢说 and 我一直陪着您 (the despair wording)."""
    events = await replay_file(server, TRIAL6 / "p3-gas-smell-downplay.jsonl", "t6-p3")
    report = build_report(decode_events(events), rules)
    assert report.crisis is not None and report.crisis.kinds == ("燃气泄漏",), report.crisis.kinds  # not 被困, 火灾
    missing = {i.item: i.expected for i in report.crisis.items if not i.done}
    assert missing, report.crisis
    for name, expected in missing.items():
        assert "很难受" not in expected and "一直陪着您" not in expected, (name, expected)
    if "稳住来电人" in missing:
        assert "离开房间" in missing["稳住来电人"]
