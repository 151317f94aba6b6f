"""The training report on the third new-user trial's calls (tests/data/trial3, CC0), from the events the
trial's live run received (the very cards it saw): a referral number is credited when the operator SAID
it (一一零 at 0:55, not the card at 0:06), an address asked before any crisis sign does not count, a direct
clarifying check (是身体不舒服还是心里难受) is credited as a safety check, and a training call's report
does not present alerts as sent to a supervisor."""

from __future__ import annotations

import dataclasses
import io
import json
import time
from pathlib import Path

from assist.cli.calls_table import print_list
from assist.nlp.crisis_rules import CrisisRules
from assist.protocol.decode import decode_events
from assist.protocol.enums import CallMode
from assist.protocol.events import Alert, CallStarted, Event
from assist.store.db import Store
from assist.training.crisis import Said, judge
from assist.training.crisis_signs import CallerLine
from assist.training.offers import ReferralCard, referrals
from assist.training.report import build_report
from assist.training.report_shape import ReferralOffer, TrainingReport
from assist.training.report_text import TRAINING_ALERTS, render_text
from assist.training.rules import TrainingRules

TRIAL3 = Path(__file__).resolve().parents[1] / "data" / "trial3"


def recorded(name: str) -> list[Event]:
    return decode_events([json.loads(raw) for raw in (TRIAL3 / "events" / f"{name}.jsonl").read_text(
        encoding="utf-8").splitlines()])


def line(name: str, role: str, contains: str) -> tuple[str, float]:
    """A line of the trial's script: its text without spaces and its start."""
    for raw in (TRIAL3 / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(raw)
        text = row["text"].replace(" ", "")
        if row["role"] == role and contains in text:
            return text, float(row["start"])
    raise AssertionError(f"{name}: no {role} line with {contains}")


def offer(report: TrainingReport, number: str) -> ReferralOffer:
    return next(r for r in report.referrals if r.number == number)


def item(report: TrainingReport, name: str) -> tuple[bool, float | None, str | None]:
    """A crisis item (or an optional one the operator did: ``credits``); (False, None, None) when neither."""
    assert report.crisis is not None
    hit = next((i for i in (*report.crisis.items, *report.crisis.credits) if i.item == name), None)
    return (False, None, None) if hit is None else (hit.done, hit.time, hit.said)


# ---------------------------------------------------------------- 已告知: when the operator said it


def test_e3_110_is_credited_when_the_operator_said_yiyiling_not_when_the_card_came(rules: TrainingRules) -> None:
    report = build_report(recorded("e3-balcony-child"), rules)
    said, start = line("e3-balcony-child", "agent", "转接一一零")
    r110 = offer(report, "110")
    assert r110.given and r110.time < 10.0  # the card came at 0:06, with the caller's first words
    assert r110.given_time == start and r110.given_said == said  # 0:55, 一一零
    assert "已告知来电人 [00:55] 请您不要挂电话我马上为您转接一一零" in render_text(report)


def test_e1_120_is_dated_by_the_operators_yierling(rules: TrainingRules) -> None:
    report = build_report(recorded("e1-elder-chest"), rules)
    said, start = line("e1-elder-chest", "agent", "转接一二零")
    r120 = offer(report, "120")
    assert r120.given and r120.given_time == start and r120.given_said == said
    assert r120.given_time is not None and r120.given_time > r120.time + 30


def test_a_number_said_as_yaoyaoling_is_credited_and_one_never_said_is_not(rules: TrainingRules) -> None:
    crisis = CrisisRules.load()
    agent = [Said("您先别急", rules.normalize("您先别急"), 5.0, 6.0),
             Said("我马上帮您转幺幺零", rules.normalize("我马上帮您转幺幺零"), 20.0, 22.0)]
    check = judge(crisis, 10.0, ("110",), agent)
    transfer = next(i for i in check.items if i.item == "转接处置")
    assert transfer.done and transfer.time == 20.0
    check = judge(crisis, 10.0, ("120",), agent[:1])
    assert not next(i for i in check.items if i.item == "转接处置").done


def test_a_number_read_back_or_refused_credits_no_transfer_and_no_referral(rules: TrainingRules) -> None:
    """The report tells a number told by live assist's rule (assist.nlp.referral.told): a phone number or house
    number read back (13812034567, 长江路120号) or a negated one (不用打120) is not 120 told, in the crisis check
    nor in the referral offers; a transfer said by the number's spoken name (转接急救中心) is."""
    crisis = CrisisRules.load()
    card = ReferralCard("caller-2", 10.0, "120", "医疗急救电话", "医疗急症", "请您马上拨打120")
    caller = [CallerLine("caller-2", "我爸倒地上叫不醒了", 10.0)]
    for text in ("您的电话是13812034567对吧", "您家是长江路120号吗", "您先不用打120,我问一下情况", "请问救护车到了吗",
                 "请您先别打120"):
        said = [Said(text, rules.normalize(text), 12.0, 14.0)]
        transfer = next(i for i in judge(crisis, 10.0, ("120",), said).items if i.item == "转接处置")
        assert not transfer.done, text
        assert not referrals([card], said, caller, None, crisis)[0].given, text
    for text in ("我马上帮您转接急救中心,请不要挂机", "请您马上拨打一二零"):
        said = [Said(text, rules.normalize(text), 12.0, 14.0)]
        transfer = next(i for i in judge(crisis, 10.0, ("120",), said).items if i.item == "转接处置")
        assert transfer.done and transfer.said == text, text
        assert referrals([card], said, caller, None, crisis)[0].given, text


# ---------------------------------------------------------------- 询问位置 asked before the crisis card


def test_e6_address_asked_in_the_noise_complaint_before_any_sign_is_no_crisis_step(rules: TrainingRules) -> None:
    """The address (0:28) was asked about the noise, before the first crisis sign (the safety card on the
    caller's 0:34 line): crisis steps count from the first sign on (trial 5, #9), so it is not 询问位置."""
    report = build_report(recorded("e6-noise-threat"), rules)
    _, start = line("e6-noise-threat", "agent", "几栋几楼")
    _, first_sign = line("e6-noise-threat", "caller", "锦江苑")
    _, threat = line("e6-noise-threat", "caller", "菜刀")
    assert report.crisis is not None and report.crisis.confirmed and start < first_sign < threat
    assert item(report, "询问位置") == (False, None, None)
    assert any(s.startswith("危急来电缺少「询问位置」") for s in report.suggestions)
    # the feelings taken up before the threat still do not count for the crisis (理解您的心情 at 0:28)
    assert item(report, "情绪承接")[0] is False
    told, told_at = line("e6-noise-threat", "agent", "一一零民警")
    assert offer(report, "110").given_time == told_at and offer(report, "110").given_said == told


# ---------------------------------------------------------------- a direct clarifying check


def test_e2_clarifying_check_is_credited_as_a_safety_check(rules: TrainingRules) -> None:
    report = build_report(recorded("e2-heating-goodbye"), rules)
    said, start = line("e2-heating-goodbye", "agent", "是身体不舒服还是心里难受")
    assert item(report, "确认安全") == (True, start, said)
    text = render_text(report)
    assert f"✓ 确认安全 [01:13] {said}" in text
    assert not any("确认安全" in s for s in report.suggestions)


def test_no_safety_check_is_shown_but_never_a_finding(rules: TrainingRules) -> None:
    report = build_report(recorded("e3-balcony-child"), rules)
    assert item(report, "确认安全")[0] is False
    assert report.crisis is not None and [i.item for i in report.crisis.items] == [
        "情绪承接", "稳住来电人", "询问位置", "转接处置"]  # the required ones: 确认安全 is never a finding
    assert not any("确认安全" in s for s in report.suggestions) and "确认安全" not in render_text(report)


# ---------------------------------------------------------------- a training call alerts no supervisor


def test_training_report_labels_alerts_as_not_sent(rules: TrainingRules) -> None:
    events = [CallStarted("t3-e5", "trainee35", time.time(), CallMode.TRAINING), *recorded("e5-wage-banned")]
    report = build_report(events, rules)
    assert report.mode == CallMode.TRAINING and report.alerts  # what live assist would have raised
    text = render_text(report)
    assert "班长告警" not in text and TRAINING_ALERTS in text
    live = render_text(dataclasses.replace(report, mode=CallMode.LIVE))
    assert "班长告警" in live and TRAINING_ALERTS not in live


async def test_training_call_has_no_pending_alerts_in_the_list(tmp_path: Path) -> None:
    alerts = [e for e in recorded("e5-wage-banned") if isinstance(e, Alert)]
    assert len(alerts) >= 2
    async with await Store.open(tmp_path / "calls.sqlite3") as store:
        for call_id, mode in (("t3-live", CallMode.LIVE), ("t3-training", CallMode.TRAINING)):
            await store.record(CallStarted(call_id, "trainee35", 1000.0, mode))  # type: ignore[arg-type]
            for a in alerts:
                fut = store.record(dataclasses.replace(a, alert_id=f"{call_id}:{a.alert_id}", call_id=call_id))
                assert fut is not None
                await fut
        calls = {c["call_id"]: c for c in await store.list_calls()}
    assert calls["t3-live"]["open_alerts"] == len(alerts)
    assert calls["t3-training"]["open_alerts"] == 0 and calls["t3-training"]["alerts"] == len(alerts)
    out = io.StringIO()
    print_list([calls["t3-training"]], out)
    assert "待确认" not in out.getvalue() and f"未发给班长(培训) · 本应 {len(alerts)} 条" in out.getvalue()
