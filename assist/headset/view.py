"""Terminal output of the headset client: transcript lines and prompts, one concise line each.

``TerminalView.on_event`` takes the server's events (JSON objects), and
``on_status`` the client's connection news.  Colours are used only when asked
(``assist client`` enables them when stdout is a terminal and ``NO_COLOR`` is
unset).  On a terminal the partial transcript of the utterance in progress is
shown on a transient last line; without colour only finished lines are written,
so the output can be piped or logged.

A prompt is written once, under the line that caused it.  Without partials (replays,
piped output) the prompts of an utterance wait for its final line; an update then
replaces the waiting prompt and a withdrawn one is never written.  A later change
to a prompt already written rewrites it in place when it is the last line on a
colour terminal, and is otherwise written once more, marked 更新.  Text from the server is stripped of
control characters before it reaches the terminal.
"""

from __future__ import annotations

import shutil
import unicodedata
from typing import Any, TextIO

from assist.headset.callclient import ClientStatus
from assist.text import join_cjk

ROLE_LABELS = {"agent": "坐席", "caller": "来电人", "mixed": "通话"}

_RESET = "\x1b[0m"
STYLES = {
    "agent": "\x1b[36m",        # cyan
    "caller": "\x1b[33m",       # yellow
    "mixed": "",
    "partial": "\x1b[2;3m",     # dim italic
    "banned": "\x1b[1;35m",     # bold magenta
    "referral": "\x1b[1;32m",   # bold green
    "knowledge": "\x1b[34m",    # blue
    "empathy": "\x1b[35m",      # magenta
    "category": "\x1b[2m",
    "critical": "\x1b[1;97;41m",  # bold white on red
    "status": "\x1b[2m",
    "warning": "\x1b[33m",
    "error": "\x1b[31m",
    "good": "\x1b[32m",
}
MAX_FIELD = 160  # characters of a knowledge answer or script shown


def clean(value: Any, limit: int = MAX_FIELD) -> str:
    """Server text made safe and short for one terminal line."""
    text = "" if value is None else str(value)
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = join_cjk(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clock(seconds: Any) -> str:
    value = float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else 0.0
    minutes, secs = divmod(int(max(0.0, value)), 60)
    return f"{minutes:02d}:{secs:02d}"


def fit(text: str, columns: int) -> str:
    """The start of ``text`` that fits in ``columns`` terminal columns (CJK characters take two)."""
    out, used = [], 0
    for c in text:
        w = 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
        if used + w > columns:
            break
        out.append(c)
        used += w
    return "".join(out)


class TerminalView:
    """Writes what the operator needs to ``out``; ``color`` adds ANSI colours and the live partial line."""

    def __init__(self, out: TextIO, *, color: bool = False, partials: bool | None = None) -> None:
        self.out = out
        self.color = color
        self.partials = color if partials is None else partials
        self._transient = False
        self._printed: dict[str, str] = {}  # prompt_id -> last line written
        self._held: dict[str, dict[str, tuple[str, str]]] = {}  # utterance -> prompt_id -> (kind, line)
        self._finals: set[str] = set()  # utterances whose final line is written
        self._last_prompt: str | None = None  # prompt_id of the last line written, if a prompt
        self._critical_utterances: set[str] = set()
        self._category: tuple[str, str] | None = None

    # ------------------------------------------------------------ input

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "transcript":
            self._transcript(event)
        elif kind == "prompt":
            self._prompt(event)
        elif kind == "alert":
            self._alert(event)
        elif kind == "error":
            self._line("warning", f"! 服务器提示 {clean(event.get('code'), 40)}: {clean(event.get('message'))}")
        elif kind == "ended":
            self._ended(event)

    def on_status(self, status: ClientStatus) -> None:
        style = {"connected": "good", "disconnected": "warning", "retrying": "warning", "warning": "warning"}
        self._line(style.get(status.kind, "status"), f"· {status.message}")

    # ------------------------------------------------------------ events

    def _transcript(self, event: dict[str, Any]) -> None:
        role = str(event.get("role"))
        label = ROLE_LABELS.get(role, clean(role, 20))
        text = clean(event.get("text"), 1000)
        if not event.get("final"):
            if self.partials and text:
                self._show_transient(f"[{clock(event.get('start'))}] {label}: {text} …")
            return
        if text:
            self._line(role, f"[{clock(event.get('start'))}] {label}: {text}")
        else:
            self._clear_transient()
        uid = str(event.get("utterance_id"))
        self._finals.add(uid)
        for pid, (kind, line) in self._held.pop(uid, {}).items():
            self._emit(pid, kind, line)

    def _prompt(self, event: dict[str, Any]) -> None:
        pid = str(event.get("prompt_id"))
        uid = event.get("utterance_id")
        held = self._held.get(str(uid)) if uid is not None else None
        if event.get("action") == "withdraw":
            if held is not None:
                held.pop(pid, None)
            return
        data = event.get("data")
        data = data if isinstance(data, dict) else {}
        kind = str(event.get("kind"))
        line = self._render(kind, data)
        if line is None:
            return
        if kind == "critical":
            self._critical_utterances.add(str(uid))
        elif kind == "safety":
            pass  # a question to ask now, like the crisis card: not held for the final line
        elif not self.partials and uid is not None and str(uid) not in self._finals:
            self._held.setdefault(str(uid), {})[pid] = (kind, line)  # written under its final line
            return
        self._emit(pid, kind, line)

    def _emit(self, pid: str, kind: str, line: str) -> None:
        before = self._printed.get(pid)
        if before == line:
            return
        self._printed[pid] = line
        if before is not None and self.color and self._last_prompt == pid:
            self._clear_transient()
            self.out.write("\x1b[1A\r\x1b[2K")  # the prompt is the last line: rewrite it in place
        elif before is not None:
            line = f"{line} (更新)"
        self._line(kind, line)
        self._last_prompt = pid

    def _render(self, kind: str, data: dict[str, Any]) -> str | None:
        if kind == "banned":
            return f"  [禁用语] 「{clean(data.get('said'), 40)}」 → 请改说:{clean(data.get('suggestion'))}"
        if kind == "referral":
            reason = clean(data.get("reason"))
            return f"  [转介] {clean(data.get('number'), 20)} {clean(data.get('name'), 40)}" + (
                f":{reason}" if reason else ""
            )
        if kind == "knowledge":
            return f"  [知识库] {clean(data.get('question'), 60)} — {clean(data.get('answer'))}"
        if kind == "empathy":
            steps = data.get("steps")
            steps = steps if isinstance(steps, list) else []
            numbered = " ".join(f"{i}. {clean(s, 60)}" for i, s in enumerate(steps[:3], 1))
            return f"  [共情·{clean(data.get('label'), 10)}] {numbered}"
        if kind == "critical":
            numbers = data.get("referrals")
            numbers = numbers if isinstance(numbers, list) else []
            refer = f" 转介 {'/'.join(clean(n, 20) for n in numbers)}" if numbers else ""
            aid = data.get("first_aid")
            aid = " 现场指导:" + " ".join(clean(s) for s in aid) if isinstance(aid, list) and aid else ""
            return f"  [危急] {clean(data.get('reason')) or '来电人有危险信号'}{refer}{aid}"
        if kind == "safety":
            numbers = data.get("referrals")
            numbers = numbers if isinstance(numbers, list) else []
            refer = f"(如确认有危险,转接 {'/'.join(clean(n, 20) for n in numbers)})" if numbers else ""
            return f"  [安全确认] 请问:{clean(data.get('question'))}{refer}"
        if kind == "category":
            key = (clean(data.get("intent"), 10), clean(data.get("department"), 20))
            if key == self._category or not key[0]:
                return None
            self._category = key
            return f"  [类别] {key[0]}" + (f" · {key[1]}" if key[1] else "")
        return None  # emotion (shown through empathy) and kinds this client does not know

    def _alert(self, event: dict[str, Any]) -> None:
        if event.get("severity") != "critical" or str(event.get("utterance_id")) in self._critical_utterances:
            return
        self._line("critical", f"  [危急告警] {clean(event.get('message'))}")

    def _ended(self, event: dict[str, Any]) -> None:
        for uid in list(self._held):  # prompts of an utterance that never got its final line
            for pid, (kind, line) in self._held.pop(uid).items():
                self._emit(pid, kind, line)
        summary = event.get("summary")
        summary = summary if isinstance(summary, dict) else {}
        counts = summary.get("utterances")
        counts = counts if isinstance(counts, dict) else {}
        parts = ", ".join(f"{ROLE_LABELS.get(str(r), clean(r, 20))} {clean(n, 10)} 句" for r, n in counts.items())
        duration = summary.get("duration")
        length = f"{float(duration):.0f} s" if isinstance(duration, int | float) else "?"
        self._line("good", f"■ 通话结束 {clean(event.get('call_id'), 128)}: {length}" + (f", {parts}" if parts else ""))

    # ------------------------------------------------------------ output

    def _paint(self, style: str, text: str) -> str:
        code = STYLES.get(style, "") if self.color else ""
        return f"{code}{text}{_RESET}" if code else text

    def _clear_transient(self) -> None:
        if self._transient:
            self.out.write("\r\x1b[2K")
            self._transient = False

    def _show_transient(self, text: str) -> None:
        columns = shutil.get_terminal_size((100, 24)).columns - 1
        self._clear_transient()
        self.out.write(self._paint("partial", fit(text, columns)))
        self.out.flush()
        self._transient = True

    def _line(self, style: str, text: str) -> None:
        self._last_prompt = None
        self._clear_transient()
        self.out.write(self._paint(style, text) + "\n")
        self.out.flush()
