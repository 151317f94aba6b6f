"""The table of ``assist calls list``: every column labelled, in Chinese (default) or English.

Training replays are marked in their own column, and the alerts column says what its numbers
are ("1 待确认 / 共 3", "1 open of 3").  A training replay alerts no supervisor, so nothing of it is
pending: its column says what live assist would have raised ("未发给班长(培训) · 本应 4 条").
Columns are padded by display width, so Chinese labels
and values line up in a terminal (a CJK character takes two columns).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TextIO

from assist.text import join_cjk


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


@dataclass(frozen=True, slots=True)
class _Words:
    headers: tuple[str, ...]  # started, length, agent, ended, mode, utterances, alerts, call
    reasons: dict[str, str]
    modes: dict[str, str]
    roles: dict[str, str]
    still_open: str
    no_calls: str
    alerts: Callable[[int, int], str]
    training_alerts: Callable[[int], str]  # a training replay's: none sent, what would have been


WORDS = {
    Lang.ZH: _Words(
        headers=("开始时间", "时长", "坐席", "结束方式", "模式", "话语", "告警", "通话编号"),
        reasons={"completed": "正常结束", "client_gone": "连接中断", "error": "出错", "interrupted": "中断",
                 "shutdown": "服务停止"},
        modes={"live": "实时", "training": "培训"},
        roles={"agent": "坐席", "caller": "来电人", "mixed": "通话"},
        still_open="进行中",
        no_calls="没有通话",
        alerts=lambda total, open_: "—" if not total else (f"{open_} 待确认 / 共 {total}" if open_ else f"共 {total}"),
        training_alerts=lambda total: "—" if not total else f"未发给班长(培训) · 本应 {total} 条",
    ),
    Lang.EN: _Words(
        headers=("started", "length", "agent", "ended", "mode", "utterances", "alerts", "call"),
        reasons={"completed": "completed", "client_gone": "client gone", "error": "error",
                 "interrupted": "interrupted", "shutdown": "shutdown"},
        modes={"live": "live", "training": "training"},
        roles={"agent": "agent", "caller": "caller", "mixed": "mixed"},
        still_open="open",
        no_calls="no calls",
        alerts=lambda total, open_: "-" if not total else (f"{open_} open of {total}" if open_ else f"{total}"),
        training_alerts=lambda total: "-" if not total else f"none sent (training), would be {total}",
    ),
}


def width(text: str) -> int:
    """Terminal columns of ``text``."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, columns: int, right: bool = False) -> str:
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _length(seconds: float | None, words: _Words) -> str:
    if seconds is None:
        return words.still_open
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes}:{sec:02d}"


def _clock(seconds: float) -> str:
    minutes, sec = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{sec:04.1f}"


def print_list(calls: list[dict[str, Any]], out: TextIO, lang: Lang = Lang.ZH) -> None:
    """The calls of ``Store.list_calls`` as a labelled table, each search match under its call."""
    words = WORDS[lang]
    if not calls:
        out.write(words.no_calls + "\n")
        return
    rows = []
    for c in calls:
        ended = words.reasons.get(c["end_reason"], c["end_reason"]) if c["end_reason"] else words.still_open
        rows.append((
            _when(c["started_at"]),
            _length(c["duration"], words),
            str(c["agent_id"])[:12],
            ended,
            words.modes.get(c["mode"], c["mode"]),
            str(c["utterances"]),
            words.training_alerts(int(c["alerts"])) if c["mode"] == "training"
            else words.alerts(int(c["alerts"]), int(c["open_alerts"])),
            str(c["call_id"]),
        ))
    right = {1, 5}
    sizes = [max(width(h), *(width(r[i]) for r in rows)) for i, h in enumerate(words.headers)]

    def line(cells: tuple[str, ...]) -> str:
        padded = [_pad(cell, sizes[i], i in right) for i, cell in enumerate(cells[:-1])]
        return "  ".join([*padded, cells[-1]])

    out.write(line(words.headers) + "\n")
    for c, row in zip(calls, rows, strict=True):
        out.write(line(row) + "\n")
        for m in c.get("matches", []):
            out.write(f"    [{_clock(m['start'])}] {words.roles.get(m['role'], m['role'])}: {join_cjk(m['text'])}\n")
