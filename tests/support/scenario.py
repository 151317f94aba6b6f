"""A scripted hotline shift for the fake server: three calls, built with ``assist.protocol.events``.

Call ``call-001`` (agent A01) is the showcase: a rental-deposit dispute (legal referral
12348, a knowledge answer, the three empathy steps), the agent says a banned phrase,
then the caller says something critical (12356).  ``call-002`` and ``call-003`` fill the
supervisor's table and alert feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from assist.protocol.events import (
    Alert,
    CallStarted,
    CallState,
    EmotionLevel,
    Event,
    Prompt,
    Span,
    Transcript,
)
from assist.protocol.payloads import (
    BannedPayload,
    CategoryPayload,
    CriticalPayload,
    EmotionPayload,
    EmpathyPayload,
    KnowledgePayload,
    PromptData,
    ReferralPayload,
)

CALL = "call-001"
AGENT = "A01"
BANNED_PHRASE = "这是规定我没办法"
BANNED_SUGGESTION = "非常理解您的心情,我马上帮您查询相关规定,看看还有什么办法。"
LEGAL_NUMBER = "12348"


@dataclass
class Scenario:
    """What the fake server knows: live call states, open alerts, the event script, history."""

    calls: list[CallState]
    alerts: list[Alert]
    script: list[Event]
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)

    def agent_of(self, call_id: str) -> str | None:
        for call in self.calls:
            if call.call_id == call_id:
                return call.agent_id
        return None


def _say(call_id: str, role: str, uid: str, text: str, start: float, end: float, *, partials: int = 2) -> list[Event]:
    """Growing partials then the final of one utterance."""
    out: list[Event] = []
    for i in range(1, partials + 1):
        cut = max(1, len(text) * i // (partials + 1))
        out.append(Transcript(call_id, role, uid, False, text[:cut], start, start + (end - start) * i / (partials + 1)))
    out.append(Transcript(call_id, role, uid, True, text, start, end))
    return out


def _prompt(
    call_id: str, role: str, uid: str, kind: str, key: str, t: float, span: str | None,
    data: PromptData, text: str, action: str = "show",
) -> Prompt:
    at = text.find(span) if span else -1
    return Prompt(
        prompt_id=f"{uid}:{kind}:{key}",
        call_id=call_id,
        role=role,
        utterance_id=uid,
        kind=kind,
        action=action,
        audio_time=t,
        span=Span(span, at, at + len(span)) if span and at >= 0 else None,
        data=data,
    )


def _state(call: CallState, now: float, **changes: Any) -> CallState:
    return replace(call, duration=round(now - call.started_at, 1), **changes)


def hotline_scenario(now: float) -> Scenario:
    """The scripted shift, with wall-clock times relative to ``now`` (unix seconds)."""
    c1 = CallState(CALL, AGENT, now - 95, True, 95.0, EmotionLevel("平静", 0.1), None, None)
    c2 = CallState("call-002", "A02", now - 310, True, 310.0, EmotionLevel("平静", 0.15), "咨询", "人社")
    c3 = CallState(
        "call-003", "A03", now - 42, True, 42.0, EmotionLevel("愤怒", 0.86), "投诉举报", "城管", warnings=0,
    )
    greet = "您好!市长热线,请问有什么可以帮到您?"
    ask = "我租的房子房东一直不退押金,这个合同纠纷我想起诉他,你们到底管不管?"
    reply = "这是规定我没办法,你自己去法院问吧。"
    despair = "我真的不想活了,钱都被他骗光了。"
    script: list[Event] = [
        CallStarted(CALL, AGENT, c1.started_at),
        c1,
        *_say(CALL, "agent", "u-a1", greet, 0.4, 3.1, partials=1),
        *_say(CALL, "caller", "u-c1", ask, 3.6, 10.2),
        _prompt(CALL, "caller", "u-c1", "emotion", "e", 10.2, "到底管不管", EmotionPayload("愤怒", 0.72), ask),
        _prompt(CALL, "caller", "u-c1", "category", "c", 10.2, None, CategoryPayload("求助", "司法"), ask),
        _prompt(
            CALL, "caller", "u-c1", "referral", LEGAL_NUMBER, 10.2, "合同纠纷",
            ReferralPayload(
                number=LEGAL_NUMBER,
                name="法律援助热线",
                reason="民事纠纷不在热线受理范围",
                script="您反映的押金纠纷属于民事纠纷,建议您拨打12348法律援助热线,由专业人员为您解答。",
            ),
            ask,
        ),
        _prompt(
            CALL, "caller", "u-c1", "knowledge", "kb-017", 10.2, "不退押金",
            KnowledgePayload(
                id="kb-017",
                question="房东不退租房押金怎么办?",
                answer=(
                    "先与房东协商并保留合同、付款凭证;协商不成可向街道人民调解委员会申请调解,"
                    "也可向人民法院起诉。"
                ),
                score=0.82,
                source="住房租赁纠纷处理指引",
                updated="2025-06-30",
            ),
            ask,
        ),
        _prompt(
            CALL, "caller", "u-c1", "empathy", "s", 10.2, None,
            EmpathyPayload(
                label="愤怒",
                steps=(
                    "我非常理解您现在着急的心情,换作是我也会很着急。",
                    "给您添麻烦了,这件事我来帮您理清办理途径。",
                    "我现在把法律援助的联系方式告诉您,并把您的情况记录在工单里。",
                ),
            ),
            ask,
        ),
        _state(
            c1, now, emotion=EmotionLevel("愤怒", 0.72), intent="求助", department="司法", referrals=(LEGAL_NUMBER,),
        ),
        *_say(CALL, "agent", "u-a2", reply, 10.8, 13.5),
        _prompt(
            CALL, "agent", "u-a2", "banned", "r1", 13.5, BANNED_PHRASE,
            BannedPayload(rule="推诿搪塞", said=BANNED_PHRASE, suggestion=BANNED_SUGGESTION),
            reply,
        ),
        Alert(
            "al-1", CALL, AGENT, "banned", "warning", f"坐席 {AGENT} 使用禁用语“{BANNED_PHRASE}”",
            13.5, "u-a2", now - 2,
        ),
        _state(c1, now, emotion=EmotionLevel("愤怒", 0.72), intent="求助", department="司法", warnings=1),
        *_say(CALL, "caller", "u-c2", despair, 14.0, 17.2),
        _prompt(
            CALL, "caller", "u-c2", "critical", "self-harm", 17.2, "不想活了",
            CriticalPayload(reason="来电人流露轻生念头", referrals=("12356",)),
            despair,
        ),
        Alert("al-2", CALL, AGENT, "critical", "critical", "来电人流露轻生念头,建议转接12356", 17.2, "u-c2", now - 1),
        _state(c1, now, emotion=EmotionLevel("绝望", 0.9), intent="求助", department="司法", warnings=1, critical=True),
        # the other calls, for the supervisor
        *_say("call-002", "caller", "u2-c1", "请问灵活就业人员的社保在哪里缴纳?", 300.0, 303.0, partials=1),
        Alert(
            "al-3", "call-003", "A03", "escalation", "warning", "来电人情绪升级:多次表示“我要投诉你们”",
            38.0, "u3-c4", now - 5,
        ),
        _state(c3, now, warnings=1),
    ]
    history = {CALL: {"call": _row(CALL, AGENT, c1.started_at, None, None, [], 0), "utterances": [],
                      "prompts": [], "alerts": []}}
    history.update(_past_calls(now))
    return Scenario(calls=[c1, c2, c3], alerts=[], script=script, history=history, reports=_reports())


PAST = "call-0917"


def _row(
    call_id: str, agent: str, started: float, ended: float | None, reason: str | None,
    utterances: list[dict[str, Any]], alerts: int, mode: str = "live",
    crisis_numbers: tuple[str, ...] = (), told: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "call_id": call_id, "agent_id": agent, "started_at": started, "ended_at": ended, "end_reason": reason,
        "mode": mode, "utterances": len(utterances), "alerts": alerts,
        "crisis_numbers": list(crisis_numbers), "told": list(told),  # an ended crisis call's, as the store keeps
        # like the store: the caller's first utterance, else the call's first
        "first_text": next((u["text"] for u in utterances if u["role"] == "caller"),
                           utterances[0]["text"] if utterances else ""),
    }


def _past_calls(now: float) -> dict[str, dict[str, Any]]:
    """Two stored, finished calls for the history page."""
    start = now - 86400
    lines = [
        ("agent", "您好!市长热线,请问有什么可以帮到您?"),
        ("caller", "我家楼下的餐馆油烟太大,窗户都没法开。"),
        ("agent", "喂,说完了没有?"),
        ("caller", "你这是什么态度?"),
        ("agent", "非常抱歉,我马上把您反映的油烟问题记录下来,转城管部门处理。"),
        ("agent", "感谢您的来电,再见!"),
    ]
    utterances = [
        {"utterance_id": f"p-{i}", "role": role, "text": text, "start": i * 4.0, "end": i * 4.0 + 3.5}
        for i, (role, text) in enumerate(lines)
    ]
    alert = Alert("al-p1", PAST, "A01", "banned", "warning", "坐席 A01 使用禁用语“说完了没有”", 8.5, "p-2",
                  start + 9, acknowledged_by="李组长", acknowledged_at=start + 30)
    banned = _prompt(PAST, "agent", "p-2", "banned", "r", 8.5, "说完了没有",
                     BannedPayload(rule="不耐烦", said="说完了没有", suggestion="请问您还有其他需要补充的吗?"),
                     lines[2][1])
    training = [
        {"utterance_id": "t-0", "role": "caller", "text": "我想咨询一下居住证怎么办理。", "start": 1.0, "end": 3.0},
    ]
    return {
        PAST: {
            "call": _row(PAST, "A01", start, start + 26, "completed", utterances, 1),
            "utterances": utterances,
            "prompts": [banned.to_dict()],
            "alerts": [alert.to_dict()],
        },
        "train-0003": {
            "call": _row("train-0003", "T09", start - 3600, start - 3500, "completed", training, 0, mode="training"),
            "utterances": training,
            "prompts": [],
            "alerts": [],
        },
    }


def _reports() -> dict[str, dict[str, Any]]:
    """The past call's report in the shape of ``TrainingReport.to_dict()`` (assist/training/report_shape.py)."""
    opening = {"used": True, "time": 0.0, "said": "您好!市长热线,请问有什么可以帮到您?", "missing": [],
               "expected": "您好!市长热线,请问有什么可以帮到您?"}
    closing = {"used": False, "time": 20.0, "said": "感谢您的来电,再见!", "missing": ["还有其他需要吗"],
               "expected": "请问还有其他可以帮您的吗?感谢您的来电,再见!"}
    steps = [
        {"step": "情绪承接", "done": False, "time": None, "said": None,
         "expected": "我非常理解您的心情,油烟确实影响生活。", "notes": []},
        {"step": "责任表态", "done": True, "time": 16.0, "said": "非常抱歉,我马上把您反映的油烟问题记录下来",
         "expected": "这个问题我们一定负责到底。", "notes": []},
        {"step": "行动承诺", "done": True, "time": 16.0, "said": "转城管部门处理", "expected": "我马上为您转办。",
         "notes": []},
    ]
    return {
        PAST: {
            "call_id": PAST, "agent_id": "A01", "mode": "live", "duration": 23.5,
            "utterances": {"agent": 4, "caller": 2},
            "category": {"intent": "投诉举报", "department": "城管"},
            "emotion": {"label": "愤怒", "intensity": 0.68, "time": 12.0},
            "greetings": {"opening": opening, "closing": closing},
            "banned": [
                {"time": 8.0, "words": "喂", "rule": "wei", "suggestion": "您好,请讲。"},
                {"time": 8.5, "words": "说完了没有", "rule": "finished_yet",
                 "suggestion": "请问您还有其他需要补充的吗?"},
            ],
            "empathy": {"emotion": {"label": "愤怒", "intensity": 0.68, "time": 12.0}, "steps": steps, "notes": []},
            "referrals": [],
            "knowledge": [{"time": 4.0, "id": "kb-7", "question": "餐饮油烟扰民找哪个部门?", "answer": "城管",
                           "score": 0.77}],
            "critical": [],
            "alerts": [],
            "suggestions": ["来电人表达不满时,先承接情绪再说明办理。"],
        }
    }
