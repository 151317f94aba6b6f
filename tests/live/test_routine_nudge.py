"""The live nudge of new-user trial 9: in a crisis, before the transfer, an operator who answers the caller at risk
as a routine matter (我给您登记一下,三个工作日内回复您) gets a ``handling`` card with the crisis's way instead
(crisis.toml [routine], one definition with the training report's 危急情况按一般诉求处理)."""

from __future__ import annotations

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import AlertKind, PromptAction, PromptKind, Severity
from assist.protocol.events import Alert, Prompt, Transcript
from assist.protocol.payloads import HandlingPayload

JUMPER = ("caller", "我现在就站在江边 这日子过不下去了 跟你们说一声 我就跳下去了")
TICKET = ("agent", "好的 我给您登记一下 三个工作日内给您回复")


def handling_cards(analyzer: Analyzer, lines: list[tuple[str, str]]) -> list[tuple[int, HandlingPayload]]:
    """(line index, card) of every handling card shown in the call."""
    live = LiveAssist("cn", "an", analyzer, context_factory=CallContext)
    cards: list[tuple[int, HandlingPayload]] = []
    for i, (role, text) in enumerate(lines):
        for event in live.on_transcript(Transcript("cn", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)):
            if (isinstance(event, Prompt) and event.kind is PromptKind.HANDLING
                    and event.action is PromptAction.SHOW):
                assert isinstance(event.data, HandlingPayload)
                cards.append((i, event.data))
    return cards


def test_a_ticket_for_a_caller_at_risk_is_nudged_with_the_crisis_numbers(analyzer: Analyzer) -> None:
    cards = handling_cards(analyzer, [JUMPER, TICKET])
    assert [i for i, _ in cards] == [1], cards
    card = cards[0][1]
    assert card.finding == "危急情况按一般诉求处理"
    assert card.said == "三个工作日", card  # the words that made it routine, as the banned card quotes its phrase
    assert "12356" in card.suggestion and "转接" in card.suggestion and "问清位置" in card.suggestion, card


def test_a_ticket_in_a_routine_call_is_no_nudge(analyzer: Analyzer) -> None:
    assert handling_cards(analyzer, [("caller", "我们小区路灯坏了一个礼拜了 麻烦派人修一下"), TICKET]) == []


def test_a_line_that_also_asks_the_place_or_transfers_is_no_nudge(analyzer: Analyzer) -> None:
    assert handling_cards(analyzer, [JUMPER, ("agent", "我帮您记录一下 您现在具体在哪个位置")]) == []
    assert handling_cards(analyzer, [JUMPER, ("agent", "我马上为您三方转接110 请您不要挂电话")]) == []


def test_after_the_transfer_the_ticket_is_the_follow_up_not_a_lapse(analyzer: Analyzer) -> None:
    lines = [JUMPER, ("agent", "您先别挂电话 我马上为您转接110和心理援助热线12356"), TICKET]
    assert handling_cards(analyzer, lines) == []


def test_a_ticket_before_any_danger_is_no_nudge(analyzer: Analyzer) -> None:
    assert handling_cards(analyzer, [TICKET, ("caller", "好的 谢谢")]) == []


def test_the_transfer_withdraws_the_nudge_standing(analyzer: Analyzer) -> None:
    """The review of stop 21: the banner kept telling the operator to transfer after they had."""
    live = LiveAssist("cw", "aw", analyzer, context_factory=CallContext)
    events = []
    lines = [JUMPER, TICKET, ("agent", "您先别挂电话 我马上为您转接110和12356")]
    for i, (role, text) in enumerate(lines):
        events += live.on_transcript(Transcript("cw", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0))
    handling = [(e.action, e.prompt_id) for e in events if isinstance(e, Prompt) and e.kind is PromptKind.HANDLING]
    assert handling == [(PromptAction.SHOW, "cw:u1:handling:0"), (PromptAction.WITHDRAW, "cw:u1:handling:0")]


def test_a_question_about_transferring_is_no_transfer(analyzer: Analyzer) -> None:
    lines = [JUMPER, ("agent", "您说的这个情况 需要转接110吗"), TICKET]
    assert [i for i, _ in handling_cards(analyzer, lines)] == [2]


def test_the_callers_words_on_a_mixed_channel_are_no_lapse(analyzer: Analyzer) -> None:
    lines = [("mixed", JUMPER[1]), ("mixed", "你们每次都说三个工作日内回复我 我不信了")]
    assert handling_cards(analyzer, lines) == []


def test_a_promise_of_a_reply_or_a_unit_to_call_back_is_routine_too(analyzer: Analyzer) -> None:
    for line in ("您的情况我记下了 我们会尽快给您回复", "我这边帮您反映一下 让相关部门跟您联系"):
        assert [i for i, _ in handling_cards(analyzer, [JUMPER, ("agent", line)])] == [1], line
    # a call-back is a crisis step, not routine handling
    assert handling_cards(analyzer, [JUMPER, ("agent", "电话要是断了 我马上给您回电")]) == []


def test_more_routine_answers_are_nudged_and_a_call_to_the_ambulance_is_not(analyzer: Analyzer) -> None:
    """The focused review of stop 21."""
    for line in ("我给您记一下 后续会有人联系您的", "您的诉求已经受理了 您等通知吧", "提交上去 请您耐心等待"):
        assert [i for i, _ in handling_cards(analyzer, [JUMPER, ("agent", line)])] == [1], line
    collapse = ("caller", "我爸突然倒在地上了 叫他也没反应")
    assert handling_cards(analyzer, [collapse, ("agent", "您别慌 我马上给您反馈给急救中心 急救车马上就到")]) == []


def test_a_question_anywhere_in_the_line_is_no_transfer(analyzer: Analyzer) -> None:
    lines = [JUMPER, ("agent", "您看需要给您转接110吗 您说话"), TICKET]
    assert [i for i, _ in handling_cards(analyzer, lines)] == [2]


def test_a_community_mediator_is_no_transfer_and_is_nudged(analyzer: Analyzer) -> None:
    """New-user trial 10: 帮您联系社区调解 to a woman with a knife at the door withdrew the nudge as a transfer."""
    knife = ("caller", "他拿着菜刀在门口砸门 说要砍死我 我躲在屋里不敢出去")
    lines = [knife, TICKET, ("agent", "那您这个情况我们也可以帮您联系社区调解")]
    live = LiveAssist("ck", "ak", analyzer, context_factory=CallContext)
    events = []
    for i, (role, text) in enumerate(lines):
        events += live.on_transcript(Transcript("ck", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0))
    handling = [(e.action, e.utterance_id) for e in events if isinstance(e, Prompt) and e.kind is PromptKind.HANDLING]
    assert handling == [(PromptAction.SHOW, "u1"), (PromptAction.SHOW, "u2")], handling


def test_a_transfer_with_a_tag_question_is_the_transfer(analyzer: Analyzer) -> None:
    """The tag after a transfer being done (好吗, 可以吗) is no offer: the ticket after it is the follow-up."""
    for line in ("我马上为您转接110和12356好吗", "我现在给您转接110可以吗"):
        assert handling_cards(analyzer, [JUMPER, ("agent", line), TICKET]) == [], line
    asked_after = ("agent", "已经给您转接110了 您现在身边还有人吗")  # a transfer, then another question
    assert handling_cards(analyzer, [JUMPER, asked_after, TICKET]) == []


def test_a_second_danger_needing_a_new_number_is_nudged_afresh(analyzer: Analyzer) -> None:
    """After 110 for a fight, a fire (119) handled with a ticket is a lapse again: the latch covers the numbers
    the crisis had when the operator transferred, not the rest of the call."""
    fight = ("caller", "楼下有人拿刀追着砍人 已经有人倒在地上了")
    transfer = ("agent", "您注意安全 我马上为您转接110和120")
    fire = ("caller", "哎呀楼道里的电动车着火了 烟都冒上来了")
    cards = handling_cards(analyzer, [fight, transfer, fire, TICKET])
    assert [i for i, _ in cards] == [3], cards
    assert "119" in cards[0][1].suggestion, cards


def test_the_nudge_is_also_the_supervisors_alert(analyzer: Analyzer) -> None:
    """New-user trial 10: the supervisor could not see the nudge from the floor.  One warning alert per lapse line,
    quoting the words and the crisis's way; none for the transfer."""
    live = LiveAssist("cs", "as", analyzer, context_factory=CallContext)
    alerts = []
    lines = [JUMPER, TICKET, ("agent", "您先别挂电话 我马上为您转接110和12356")]
    for i, (role, text) in enumerate(lines):
        alerts += [e for e in live.on_transcript(Transcript("cs", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0))
                   if isinstance(e, Alert)]
    handling = [a for a in alerts if a.kind is AlertKind.HANDLING]
    assert len(handling) == 1, alerts
    alert = handling[0]
    assert alert.severity is Severity.WARNING and alert.utterance_id == "u1", alert
    assert "危急情况按一般诉求处理「三个工作日」" in alert.message and "12356" in alert.message, alert.message


def test_the_pretext_answered_as_a_health_question_is_nudged(analyzer: Analyzer) -> None:
    """New-user trial 10: a caller hiding stockpiled pills in a 医保 question was told 安眠药还是要遵医嘱服用."""
    pills = ("caller", "医生开的安眠药我一直攒着 今天晚上全吃了 现在有点迷糊")
    for line in ("安眠药还是要遵医嘱服用的 您明天去医院问问", "这个您最好咨询一下您的主治医生"):
        assert [i for i, _ in handling_cards(analyzer, [pills, ("agent", line)])] == [1], line
    ambulance = ("agent", "我马上为您转接120 急救车到了会送您去医院检查")
    assert handling_cards(analyzer, [pills, ambulance]) == []


def test_recogniser_text_that_transfers_and_asks_is_the_transfer(analyzer: Analyzer) -> None:
    """The review of stop 22: without punctuation, 不要 and a later question made these offers."""
    collapse = ("caller", "我爸突然倒在地上了 叫也叫不醒 好像没有呼吸了")
    for line in ("您不要挂电话我马上给您转接120他还有呼吸吗", "已经给您转接了他还有呼吸吗"):
        assert handling_cards(analyzer, [collapse, ("agent", line), TICKET]) == [], line
    knife = ("caller", "他拿着菜刀在门口砸门 说要砍死我")
    line = "我马上为您转接110 您要不要先到卫生间把门锁上"
    assert handling_cards(analyzer, [knife, ("agent", line), TICKET]) == []


def test_an_offer_of_the_cards_own_number_is_no_transfer(analyzer: Analyzer) -> None:
    """The review of stop 22: 需要给您转接120吗 counted 120 as told, so the ticket after it was no lapse live while the
    report found one; an offer tells nothing on either side now."""
    collapse = ("caller", "我爸突然倒在地上了 叫也叫不醒 好像没有呼吸了")
    for offer in ("您看需要给您转接120吗 您说话", "您需要我帮您打120吗"):
        assert [i for i, _ in handling_cards(analyzer, [collapse, ("agent", offer), TICKET])] == [2], offer


def test_a_risk_question_or_a_line_with_the_ambulance_is_no_health_answer(analyzer: Analyzer) -> None:
    despair = ("caller", "我真的不想活了 药我都准备好了")
    assert handling_cards(analyzer, [despair, ("agent", "您最近有没有按医嘱吃药啊 睡眠怎么样")]) == []
    pills = ("caller", "我妈把一瓶降压药都吃了")
    aid = ("agent", "等急救车来了您把药瓶给医生看 咨询一下医生")
    assert handling_cards(analyzer, [pills, aid]) == []
    assert [i for i, _ in handling_cards(analyzer, [despair, ("agent", "建议您去医院看看")])] == [1]


def test_routine_lines_in_one_call_are_one_alert_raised_again(analyzer: Analyzer) -> None:
    """The review of stop 22: five routine lines were five supervisor pins."""
    live = LiveAssist("cr", "ar", analyzer, context_factory=CallContext)
    lines = [JUMPER, TICKET, ("agent", "您耐心等待 我们会尽快给您回复"), ("agent", "这个工单已经受理了")]
    alerts = []
    for i, (role, text) in enumerate(lines):
        alerts += [e for e in live.on_transcript(Transcript("cr", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0))
                   if isinstance(e, Alert) and e.kind is AlertKind.HANDLING]
    assert len({a.alert_id for a in alerts}) == 1 and [a.count for a in alerts] == [1, 2, 3], alerts
    assert "工单" in alerts[-1].message, alerts[-1].message  # the newest words


def test_after_a_transfer_the_nudge_names_only_the_new_number(analyzer: Analyzer) -> None:
    fight = ("caller", "楼下有人拿刀追着砍人 已经有人倒在地上了")
    fire = ("caller", "哎呀楼道里的电动车着火了 烟都冒上来了")
    cards = handling_cards(analyzer, [fight, ("agent", "您注意安全 我马上为您转接110和120"), fire, TICKET])
    assert cards and "转接119" in cards[0][1].suggestion and "110" not in cards[0][1].suggestion, cards
