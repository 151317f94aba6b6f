"""New-user trial 10 (stop 21, docs/nlp-evaluation.md): on a neighbour's report of a child being beaten, the cards
spoke to the victim (锁好门, 不方便说话时您只回答是或不是); the reporter's card and empathy script speak to the
neighbour, while a victim keeps the victim's.  An address given when asked moved a noise call's 承办."""

from __future__ import annotations

from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import PromptAction
from assist.protocol.events import Prompt
from assist.protocol.payloads import EmpathyPayload, ReferralPayload
from tests.support.caller_lines import live_call


def cards(analyzer: Analyzer, lines: list[str]) -> tuple[list[ReferralPayload], list[EmpathyPayload]]:
    _, events = live_call(analyzer, [("caller", text) for text in lines])
    shown = [e.data for e in events if isinstance(e, Prompt) and e.action is not PromptAction.WITHDRAW]
    return ([d for d in shown if isinstance(d, ReferralPayload)], [d for d in shown if isinstance(d, EmpathyPayload)])


def test_a_neighbour_hearing_a_child_beaten_gets_the_reporters_cards(analyzer: Analyzer) -> None:
    referral, empathy = cards(analyzer, ["喂 我是住他们家楼上的 楼下那家男的又在打孩子了 打得孩子一直哭着喊救命"])
    police = [d for d in referral if d.number == "110"]
    assert police and "锁好门" not in police[-1].script and "指路" in police[-1].script, police
    steps = empathy[-1].steps
    assert not any("只回答是或不是" in s or "锁好门" in s for s in steps), steps
    assert "谢谢您及时打来电话" in steps[0] and "110" in steps[2], steps


def test_the_victim_of_a_beating_keeps_the_victims_script(analyzer: Analyzer) -> None:
    _, empathy = cards(analyzer, ["他又在打我 我躲在卫生间里 邻居听见我喊救命了"])
    assert empathy and "只回答是或不是" in empathy[-1].steps[0], empathy


def test_the_address_asked_for_does_not_move_the_calls_unit(analyzer: Analyzer) -> None:
    """芙蓉区五一大道和韶山路交叉口那个地铁站的工地, the answer to 请问工地的具体位置是哪里, moved a noise complaint's
    承办 to 交通; the same words told unasked still count."""
    noise = ("caller", "对面那个工地天天晚上施工 搞到凌晨三点 吵得根本睡不着")
    address = ("caller", "芙蓉区 五一大道 和 韶山路 交叉口 那个地铁站的工地")
    first, _ = live_call(analyzer, [noise])
    unit = first.call.topic.department.current
    asked, _ = live_call(analyzer, [noise, ("agent", "非常抱歉给您添麻烦了 请问工地的具体位置是哪里"), address])
    assert unit is not None and unit != "交通" and asked.call.topic.department.current == unit
    escalator = ("caller", "地铁站里的自动扶梯坏了好几天了 一直没人修")
    unasked, _ = live_call(analyzer, [escalator, ("agent", "好的"), address])
    assert unasked.call.topic.department.current == "交通"
