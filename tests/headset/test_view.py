"""The terminal view writes each prompt once, under the line that caused it (assist replay, assist client)."""

from __future__ import annotations

import io
from typing import Any

from assist.headset.view import TerminalView


def transcript(uid: str, text: str, final: bool) -> dict[str, Any]:
    return {"type": "transcript", "role": "agent", "utterance_id": uid, "final": final, "text": text, "start": 3.0}


def prompt(pid: str, uid: str, action: str, suggestion: str, kind: str = "banned") -> dict[str, Any]:
    return {"type": "prompt", "prompt_id": pid, "utterance_id": uid, "kind": kind, "action": action,
            "data": {"said": "不归我们管", "suggestion": suggestion}}


def test_replay_prompts_wait_for_their_final_line_and_updates_replace_them() -> None:
    out = io.StringIO()
    view = TerminalView(out, color=False, partials=False)
    view.on_event(transcript("agent-0", "这 不归", False))
    view.on_event(prompt("p1", "agent-0", "show", "此事由住建部门主办"))
    view.on_event(prompt("p1", "agent-0", "update", "此事由人社部门主办"))
    view.on_event(prompt("p2", "agent-0", "show", "撤回的提示"))
    view.on_event(prompt("p2", "agent-0", "withdraw", ""))
    assert out.getvalue() == ""  # nothing above the line that causes it
    view.on_event(transcript("agent-0", "这 不归 我们 管", True))
    lines = out.getvalue().splitlines()
    assert lines == ["[00:03] 坐席: 这不归我们管", "  [禁用语] 「不归我们管」 → 请改说:此事由人社部门主办"]
    view.on_event(prompt("p1", "agent-0", "update", "此事由人社部门主办"))  # unchanged: not written again
    view.on_event(prompt("p1", "agent-0", "update", "我帮您联系人社部门"))  # changed after its line: marked
    assert out.getvalue().splitlines()[2:] == ["  [禁用语] 「不归我们管」 → 请改说:我帮您联系人社部门 (更新)"]


def test_colour_terminal_rewrites_the_last_prompt_in_place() -> None:
    out = io.StringIO()
    view = TerminalView(out, color=True, partials=True)
    view.on_event(prompt("p1", "agent-0", "show", "甲"))
    view.on_event(prompt("p1", "agent-0", "update", "乙"))
    written = out.getvalue()
    assert written.count("\n") == 2 and "\x1b[1A\r\x1b[2K" in written and "(更新)" not in written


def test_prompts_of_an_utterance_without_final_are_written_at_the_end() -> None:
    out = io.StringIO()
    view = TerminalView(out, partials=False)
    view.on_event(prompt("p1", "agent-9", "show", "请您慢慢讲"))
    view.on_event({"type": "ended", "call_id": "c1", "summary": {"duration": 5.0, "utterances": {"agent": 1}}})
    assert out.getvalue().splitlines()[0] == "  [禁用语] 「不归我们管」 → 请改说:请您慢慢讲"


def test_a_safety_question_is_written_with_its_conditional_numbers() -> None:
    out = io.StringIO()
    view = TerminalView(out, color=False)
    data = {"question": "您现在安全吗?", "reason": None, "referrals": ["110", "12356"]}
    view.on_event({"type": "prompt", "prompt_id": "s1", "utterance_id": "caller-0", "kind": "safety",
                   "action": "show", "data": data})
    assert out.getvalue() == "  [安全确认] 请问:您现在安全吗?(如确认有危险,转接 110/12356)\n"
