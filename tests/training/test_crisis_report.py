"""A crisis call is judged by crisis criteria (assist/training/crisis.py, data crisis.toml)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.crisis_rules import CrisisRules, shipped_crisis_rules
from assist.protocol.events import Event, Transcript
from assist.training.crisis_signs import CrisisReading
from assist.training.offers import ReferralCard, referrals
from assist.training.report import build_report
from assist.training.report_text import render_text

SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "data" / "scenarios"


def events_of(name: str, analyzer: Analyzer, lines: list[str] | None = None) -> list[Event]:
    """The scenario's finals (or ``lines``, JSON lines like the scenario's) through the live prompt logic, as the
    pipeline would publish them."""
    live = LiveAssist(f"c-{name}", "a1", analyzer, context_factory=CallContext)
    out: list[Event] = []
    counters = {"agent": 0, "caller": 0}
    for raw in lines or (SCENARIOS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(raw)
        uid = f"{line['role']}-{counters[line['role']]}"
        counters[line["role"]] += 1
        t = Transcript(f"c-{name}", line["role"], uid, True, line["text"], line["start"], line["end"])
        out.append(t)
        out.extend(live.on_transcript(t))
    return out


def without(events: list[Event], role: str, words: str) -> list[Event]:
    """The call without the final lines of ``role`` containing ``words``."""
    return [e for e in events
            if not (isinstance(e, Transcript) and e.role == role and words in e.text.replace(" ", ""))]


def test_suicide_call_is_judged_by_crisis_criteria() -> None:
    report = build_report(without(events_of("suicide", Analyzer.load()), "agent", "您别着急"))
    assert report.crisis is not None and "12356" in report.crisis.numbers
    done = {i.item: i.done for i in report.crisis.items}
    assert done == {"情绪承接": True, "稳住来电人": True, "询问位置": True, "转接处置": True}
    # "我能感受到您现在很难受…您现在在哪个位置" is credited as the crisis's 情绪承接; the routine three
    # steps (责任表态, 行动承诺 with its 办结时限) are not asked of a crisis call
    first = next(i for i in report.crisis.items if i.item == "情绪承接")
    assert first.done and "感受到" in (first.said or "")
    assert report.empathy.steps == () and report.empathy.emotion is not None
    # not marked down for the routine closing or a 办结时限
    assert not any("结束语" in s or "行动承诺" in s or "办结" in s for s in report.suggestions)
    text = render_text(report)
    assert "危急处置" in text and "××" not in text
    assert report.to_dict()["crisis"]["items"][2]["item"] == "询问位置"


def test_missing_crisis_steps_are_suggested_with_the_calls_number() -> None:
    analyzer = Analyzer.load()
    report = build_report(without(events_of("fire", analyzer), "agent", "119"))
    assert report.crisis is not None
    missing = [i for i in report.crisis.items if not i.done]
    # the operator asked where the caller is, but neither took up the fear nor transferred
    assert [i.item for i in missing] == ["情绪承接", "稳住来电人", "转接处置"]
    assert "119" in missing[-1].expected
    assert any("危急来电缺少「转接处置」" in s for s in report.suggestions)


def test_routine_call_has_no_crisis_section() -> None:
    report = build_report(events_of("consumer-dispute", Analyzer.load()))
    assert report.crisis is None and report.to_dict()["crisis"] is None


def _fire_with(agent_line: str, at: float = 6.12) -> list[str]:
    """The fire scenario with the operator's first turn after the caller's alarm replaced by ``agent_line``."""
    lines = (SCENARIOS / "fire.jsonl").read_text(encoding="utf-8").splitlines()
    return [*lines[:2], json.dumps({"role": "agent", "start": at, "end": at + 3.0, "text": agent_line},
                                   ensure_ascii=False), *lines[3:]]


def test_a_ticket_and_working_days_for_a_caller_at_risk_is_a_finding() -> None:
    """New-user trial 8: 危急提示后仍按一般诉求答复 was no finding; it comes first, with the call's number."""
    lines = _fire_with("好的 我 给 您 登记 一下 三 个 工作日 内 回复 您")
    report = build_report(events_of("fire", Analyzer.load(), lines))
    assert report.crisis is not None and report.crisis.routine is not None
    assert report.crisis.routine.item == "危急情况按一般诉求处理" and report.crisis.routine.time == 6.12
    assert "119" in report.crisis.routine.expected and "工作日" in (report.crisis.routine.said or "")
    assert report.crisis.ended is None  # transferred at 13.36, after the ticket
    assert report.suggestions[0].startswith("00:06 危急情况按一般诉求处理")
    assert "✗ 危急情况按一般诉求处理 [00:06]" in render_text(report)
    assert report.to_dict()["crisis"]["routine"]["item"] == "危急情况按一般诉求处理"


def test_a_ticket_with_the_transfer_or_after_it_is_no_finding() -> None:
    analyzer = Analyzer.load()
    both = _fire_with("我 马上 三方 转接 119 同时 给 您 登记 一下 工单")
    with_transfer = build_report(events_of("fire", analyzer, both))
    assert with_transfer.crisis is not None and with_transfer.crisis.routine is None
    lines = [*(SCENARIOS / "fire.jsonl").read_text(encoding="utf-8").splitlines(),
             json.dumps({"role": "agent", "start": 17.0, "end": 19.0, "text": "事后 我们 会 给 您 回访 工单 已经 登记"},
                        ensure_ascii=False)]
    after = build_report(events_of("fire", analyzer, lines))
    assert after.crisis is not None and after.crisis.routine is None
    # a routine line before the crisis card is the routine call it was then
    greeting = {"role": "agent", "start": 0.0, "end": 1.3, "text": "您好 我 给 您 登记 一下"}
    before = [json.dumps(greeting, ensure_ascii=False),
              *(SCENARIOS / "fire.jsonl").read_text(encoding="utf-8").splitlines()[1:]]
    assert (r := build_report(events_of("fire", analyzer, before)).crisis) is not None and r.routine is None


def test_the_closing_line_is_one_finding_not_two() -> None:
    """A ticket promised as the call's last words is the call closed before the transfer, quoted once."""
    last = {"role": "agent", "start": 6.12, "end": 9.0, "text": "好的 给 您 登记 了 三 个 工作日 内 回复 您 再见"}
    opening = (SCENARIOS / "fire.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    lines = [*opening, json.dumps(last, ensure_ascii=False)]
    report = build_report(events_of("fire", Analyzer.load(), lines))
    assert report.crisis is not None and report.crisis.ended is not None and report.crisis.routine is None


def test_a_wrap_up_question_takes_up_no_feeling() -> None:
    """New-user trial 8: a wrap-up question was credited as the crisis's 情绪承接 (crisis.toml ``unless``)."""
    analyzer = Analyzer.load()
    for said, credited in (("您 别 着急 还 有 什么 问题 吗", False), ("您 的 情况 我 理解 您 还 有 其他 事 吗", False),
                           ("您 别 着急 我 知道 您 现在 很 害怕", True)):
        report = build_report(events_of("fire", analyzer, _fire_with(said)))
        assert report.crisis is not None
        item = next(i for i in report.crisis.items if i.item == "情绪承接")
        assert item.done is credited, said


def test_words_said_before_the_danger_do_not_count_for_it() -> None:
    """New-user trial 7: 您别着急慢慢说 said just before the caller told the danger was credited as its 情绪承接."""
    lines = _fire_with("请 问 您 在 哪个 小区")
    before = {"role": "agent", "start": 0.0, "end": 1.6, "text": "您好 您 别 着急 慢慢 说"}  # 0.34 s before the caller
    analyzer = Analyzer.load()
    report = build_report(events_of("fire", analyzer, [json.dumps(before, ensure_ascii=False), *lines[1:]]))
    assert report.crisis is not None
    assert not next(i for i in report.crisis.items if i.item == "情绪承接").done
    # spoken over the caller's first words, it is the answer to them
    over = {**before, "start": 1.6, "end": 3.0}
    report = build_report(events_of("fire", analyzer, [lines[1], json.dumps(over, ensure_ascii=False), *lines[2:]]))
    assert report.crisis is not None and next(i for i in report.crisis.items if i.item == "情绪承接").done


def test_crisis_steps_are_not_routine_handling_but_a_ticket_with_a_soothing_word_is() -> None:
    """The independent review of stop 20: asking the place while noting it down, or 等待救援, was flagged."""
    analyzer = Analyzer.load()
    for said in ("我 帮 您 记录 一下 您 现在 的 具体 位置", "消防 马上 就 到 您 在 窗口 等待 救援",
                 "您 别 怕 我 会 帮 您 处理 的 您 在 哪里", "请 您 不要 挂 电话 我 给 您 登记 一下 工单"):
        report = build_report(events_of("fire", analyzer, _fire_with(said)))
        assert report.crisis is not None and report.crisis.routine is None, said
    ticket = _fire_with("您 别 着急 我 给 您 登记 一下 三 个 工作日 内 回复 您")
    report = build_report(events_of("fire", analyzer, ticket))
    assert report.crisis is not None and report.crisis.routine is not None


def test_an_invitation_to_go_on_talking_is_no_wrap_up() -> None:
    analyzer = Analyzer.load()
    for said in ("我 能 感受 到 您 现在 很 害怕 您 还 有 什么 事 都 可以 跟 我 说",
                 "您 别 怕 还 有 什么 需要 我 帮 您 的 我 一直 在 这"):
        report = build_report(events_of("fire", analyzer, _fire_with(said)))
        assert report.crisis is not None
        assert next(i for i in report.crisis.items if i.item == "情绪承接").done, said


def test_dial_yourself_is_told_on_a_routine_matter_not_in_a_crisis() -> None:
    """The review of stop 20: 您直接打122吧 after a scrape with no one hurt is advice that tells 122."""
    rules = CrisisRules.load()
    assert rules.tells("122", "这种情况您直接打122吧", crisis=False)
    assert not rules.tells("122", "这种情况您直接打122吧") and not rules.tells("110", "你先挂了自己打110吧")
    assert rules.tells("119", "请勿挂断电话马上拨打119") and rules.tells("119", "您别急着挂断电话马上拨打119")


def test_a_routine_call_told_to_dial_the_number_has_been_told_it() -> None:
    said = [{"role": "caller", "start": 0.0, "end": 3.0, "text": "刚才 在 路口 两 辆 车 追尾 了 没 人 受伤"},
            {"role": "agent", "start": 3.5, "end": 5.0, "text": "这种 情况 您 直接 打 122 吧"}]
    lines = [json.dumps(line, ensure_ascii=False) for line in said]
    report = build_report(events_of("fire", Analyzer.load(), lines))
    offer = next(r for r in report.referrals if r.number == "122")
    assert report.crisis is None and offer.given and "122" in (offer.given_said or "")


def test_a_line_with_a_banned_phrase_takes_up_no_feeling() -> None:
    """New-user trial 9: 您先别激动您慢慢说 was a banned phrase and 情绪承接 on one page; in a crisis,
    您别着急这个我们也没办法 was credited as the crisis's 情绪承接."""
    analyzer = Analyzer.load()
    pushed_away = _fire_with("您 别 着急 不过 这个 不 归 我们 管 您 找 错 地方 了")
    report = build_report(events_of("fire", analyzer, pushed_away))
    assert report.crisis is not None and report.banned
    assert not next(i for i in report.crisis.items if i.item == "情绪承接").done
    said = [{"role": "caller", "start": 0.0, "end": 4.0, "text": "你们 到底 管 不 管 啊 这 都 第 三 次 了 气死 我 了"},
            {"role": "agent", "start": 4.5, "end": 6.0, "text": "您 先 别 激动 您 慢慢 说"},
            {"role": "caller", "start": 6.5, "end": 9.0, "text": "楼下 烧烤 店 天天 油烟 熏 得 我 家 没法 开 窗"},
            {"role": "agent", "start": 9.5, "end": 12.0, "text": "非常 理解 您 的 心情 换 了 谁 都 会 生气"}]
    report = build_report(events_of("fire", analyzer, [json.dumps(line, ensure_ascii=False) for line in said]))
    assert report.crisis is None and any("别激动" in b.words for b in report.banned)
    first = report.empathy.steps[0]
    assert first.done and "理解" in (first.said or "") and first.time == 9.5


def test_asking_which_gate_is_asking_the_place() -> None:
    """New-user trial 9: 您现在在滨江公园哪个门附近 was not credited as 询问位置."""
    report = build_report(events_of("fire", Analyzer.load(), _fire_with("您 现在 在 滨江 公园 哪个 门 附近")))
    assert report.crisis is not None and next(i for i in report.crisis.items if i.item == "询问位置").done


def test_a_drowning_with_a_rescuer_who_jumped_in_is_no_suicide_in_the_report() -> None:
    """The focused review of stop 20: crisis.toml's kind 自伤自杀 still read the rescuer's 跳下去."""
    said = [{"role": "caller", "start": 0.0, "end": 3.0, "text": "喂喂 河边 有 个 娃儿 掉 河里 了"},
            {"role": "agent", "start": 3.5, "end": 5.0, "text": "您 别 慌 您 现在 在 哪个 位置"},
            {"role": "caller", "start": 5.5, "end": 9.0, "text": "有 个 小伙子 跳下去 了 娃儿 拉上来 了 不动 了"},
            {"role": "agent", "start": 9.5, "end": 11.0, "text": "我 马上 为 您 转接 120"}]
    report = build_report(events_of("fire", Analyzer.load(), [json.dumps(line, ensure_ascii=False) for line in said]))
    assert report.crisis is not None and "自伤自杀" not in report.crisis.kinds, report.crisis.kinds


def test_a_vague_promise_beside_real_empathy_keeps_the_credit() -> None:
    """The focused review of stop 20: 我非常理解您的心情这个问题估计下周就能处理好 is warned for 估计 and still takes up
    the caller's feelings."""
    said = [{"role": "caller", "start": 0.0, "end": 4.0, "text": "你们 到底 管 不 管 啊 这 都 第 三 次 了 气死 我 了"},
            {"role": "agent", "start": 4.5, "end": 8.0,
             "text": "我 非常 理解 您 的 心情 这个 问题 估计 下周 就 能 处理 好"}]
    report = build_report(events_of("fire", Analyzer.load(), [json.dumps(line, ensure_ascii=False) for line in said]))
    assert any("估计" in b.words for b in report.banned)
    first = report.empathy.steps[0]
    assert first.done and first.time == 4.5


def test_asking_for_the_home_address_asks_where() -> None:
    """New-user trial 12: 老人的具体住址是哪里 was not credited as 询问位置."""
    rules = CrisisRules.load()
    assert rules.asks_place("老人的具体住址是哪里") and rules.asks_place("您把她的住址告诉我")
    assert not rules.asks_place("好的我帮您登记")


def test_sending_the_reporter_to_the_property_manager_is_routine_handling() -> None:
    """New-user trial 12: 建议您先联系物业查一下车主的电话, a man unconscious in a running car, was no 处置提醒."""
    rules = CrisisRules.load()
    assert rules.routine is not None
    assert any(p.search("这个情况建议您先联系物业查一下车主的电话") for p in rules.routine.patterns)
    assert not any(p.search("建议您联系物业开门同时拨打120") for p in rules.routine.patterns)



def _restaurant_fire(agent_line: str) -> list[str]:
    """A fire with people hurt and nobody trapped (not 被困, where 110 or 119 is enough anyway)."""
    turns = [("agent", "您好 市民 热线"), ("caller", "楼下 饭馆 着火 了 好多 烟 有 两 个 人 被 烧伤 了 躺 在 门口"),
             ("agent", agent_line), ("caller", "好 好 谢谢"), ("agent", "不 客气 请 注意 安全")]
    return [json.dumps({"role": role, "start": 4.0 * i, "end": 4.0 * i + 3.0, "text": text}, ensure_ascii=False)
            for i, (role, text) in enumerate(turns)]


def test_110_told_in_a_fire_hands_on_119_by_the_joint_dispatch() -> None:
    """New-user trial 12: crisis.toml [linked] — 110 dispatches the fire brigade jointly, so the report excuses 119
    (已告知 110(联动处置)) as the live end line owes nothing; 120 told alone hands nothing on."""
    analyzer = Analyzer.load()
    line = "我 马上 帮 您 转接 120 同时 请 您 拨打 110 报警"
    told = build_report(events_of("restaurant", analyzer, _restaurant_fire(line)))
    offers = {r.number: r for r in told.referrals}
    assert "119" in offers and not offers["119"].given
    assert offers["119"].excused == "已告知 110(联动处置)", offers["119"]
    alone = build_report(events_of("restaurant", analyzer, _restaurant_fire("我 马上 帮 您 转接 120")))
    assert {r.number: r for r in alone.referrals}["119"].excused == ""


def test_a_fire_taken_back_and_confirmed_is_no_crisis_to_judge() -> None:
    """New-user trial 12: a fire the caller took back (不是着火 是烧纸) got five crisis findings and 119 owed; once the
    operator confirmed the correction live assist stood the crisis down, and the report follows it."""
    turns = [("agent", "您好 市民 热线"), ("caller", "着火 了 着火 了 楼下 冒 了 好大 的 烟"),
             ("agent", "请问 具体 在 什么 位置"), ("caller", "哦 不好意思 不是 着火 是 楼下 有人 在 烧纸"),
             ("agent", "好的 只是 烧纸 没有 着火 就好 那 我 给 您 登记 一下 反映 给 社区"), ("caller", "好的 谢谢"),
             ("agent", "不 客气 感谢 您 的 来电 再见")]
    lines = [json.dumps({"role": role, "start": 4.0 * i, "end": 4.0 * i + 3.0, "text": text}, ensure_ascii=False)
             for i, (role, text) in enumerate(turns)]
    report = build_report(events_of("taken-back", Analyzer.load(), lines))
    assert report.crisis is not None and not report.crisis.confirmed and report.crisis.items == ()
    assert report.crisis.note.startswith("危急解除") and "烧纸" in report.crisis.note
    offer = {r.number: r for r in report.referrals}.get("119")  # its card went with the stand-down, or is excused
    assert offer is None or offer.given or offer.excused.startswith("危急已解除"), offer
    assert not any("危急" in s for s in report.suggestions), report.suggestions
    assert "危急处置:危急解除" in render_text(report)
    unconfirmed = build_report(events_of("taken-back", Analyzer.load(), lines[:4] + lines[5:]))  # never confirmed
    assert unconfirmed.crisis is not None and unconfirmed.crisis.confirmed


def test_a_crisis_number_still_on_screen_after_a_stand_down_is_excused() -> None:
    card = ReferralCard("u1", 4.0, "119", "消防救援电话", "火情", "我马上为您三方转接119")
    down = CrisisReading(4.0, False, ("119",), ("119",), (), frozenset({"u1"}), "危急解除:…", stood_down=True)
    (offer,) = referrals([card], [], [], down, shipped_crisis_rules())
    assert not offer.given and offer.excused.startswith("危急已解除")
    guess = dataclasses.replace(down, stood_down=False)  # an unconfirmed model guess keeps its own excuse
    assert referrals([card], [], [], guess, shipped_crisis_rules())[0].excused.startswith("模型提示未确认")
