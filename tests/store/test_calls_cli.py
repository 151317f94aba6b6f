"""``assist calls list|show|export`` against a real database file."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest

from assist.cli import calls as calls_cli
from assist.cli import main as assist_main
from assist.cli.calls_table import width
from assist.protocol.enums import Category
from assist.protocol.events import Alert, Prompt, Span
from assist.protocol.payloads import CategoryPayload
from assist.store.db import Store

NOW = time.time()


async def _fill(path: Path) -> None:
    async with await Store.open(path) as store:
        await store.start_call("old-1", "agent-a", NOW - 3 * 86400)
        await store.add_utterance("old-1", "caller", "c-1", "小区停水三天了", 2.0, 4.0)
        await store.end_call("old-1", NOW - 3 * 86400 + 125, "completed")

        await store.start_call("new-1", "agent-b", NOW - 600)
        await store.add_utterance("new-1", "agent", "a-1", "您好，请讲", 0.0, 1.0)
        await store.add_utterance("new-1", "caller", "c-1", "我的手机 幺 三 八 幺 二 三 四 五 六 七 八", 1.5, 4.0)
        await store.add_utterance("new-1", "caller", "c-2", "楼下 噪音 太 大 了", 5.0, 6.0)  # recognizer words
        await store.add_prompt(
            Prompt(
                prompt_id="p-1",
                call_id="new-1",
                role="caller",
                utterance_id="c-2",
                kind="category",
                action="show",
                audio_time=6.0,
                span=Span("噪音", 2, 4),
                data=CategoryPayload(Category.COMPLAINT, "生态环境"),
            ),
        )
        await store.add_alert(
            Alert(
                alert_id="al-1",
                call_id="new-1",
                agent_id="agent-b",
                kind="escalation",
                severity="warning",
                message="来电人情绪升级",
                audio_time=6.5,
                utterance_id="c-2",
                created_at=NOW - 590,
            )
        )


async def _training(path: Path) -> None:
    async with await Store.open(path) as store:
        await store.start_call("train-1", "trainer", NOW - 60, mode="training")
        await store.end_call("train-1", NOW - 30, "completed")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    asyncio.run(_fill(path))
    return path


def calls(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="assist")
    calls_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["calls", *argv])
    code: int = args.func(args)
    return code


def test_list_newest_first(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert calls("--db", str(db), "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["开始时间", "时长", "坐席", "结束方式", "模式", "话语", "告警", "通话编号"]
    assert [line.split()[-1] for line in out[1:]] == ["new-1", "old-1"]
    assert "2:05" in out[2] and "正常结束" in out[2] and "实时" in out[2]
    assert "进行中" in out[1] and "1 待确认 / 共 1" in out[1]  # one alert, not acknowledged
    assert all("!" not in line and "completed" not in line for line in out)
    # the columns line up by display width: every call id starts in the same terminal column
    starts = [width(line[: line.rindex(line.split()[-1])]) for line in out]
    assert len(set(starts)) == 1


def test_list_in_english_and_training_calls_marked(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_training(db))
    assert calls("--db", str(db), "list", "--lang", "en") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["started", "length", "agent", "ended", "mode", "utterances", "alerts", "call"]
    assert "1 open of 1" in out[2] and "training" in out[1]
    assert calls("--db", str(db), "list") == 0
    assert "培训" in capsys.readouterr().out.splitlines()[1]


def test_list_filters_and_search(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert calls("list", "--db", str(db), "--agent", "agent-a") == 0
    assert [ln.split()[-1] for ln in capsys.readouterr().out.splitlines()[1:]] == ["old-1"]
    assert calls("--db", str(db), "list", "--since", "1d") == 0
    assert [ln.split()[-1] for ln in capsys.readouterr().out.splitlines()[1:]] == ["new-1"]
    assert calls("--db", str(db), "list", "--search", "噪音") == 0
    out = capsys.readouterr().out
    assert "new-1" in out and "old-1" not in out
    assert "[00:05.0] 来电人: 楼下噪音太大了" in out
    assert calls("--db", str(db), "list", "--search", "不存在的词") == 0
    assert capsys.readouterr().out == "没有通话\n"


def test_list_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert calls("--db", str(db), "list", "--json", "--search", "13812345678") == 0
    result = json.loads(capsys.readouterr().out)
    (call,) = result["calls"]
    assert call["call_id"] == "new-1"
    assert call["matches"][0]["text"] == "我的手机 138****5678"


def test_show(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert calls("--db", str(db), "show", "new-1") == 0
    out = capsys.readouterr().out
    assert out.startswith("call new-1  agent agent-b  mode live\n")
    body = [ln.strip() for ln in out.split("\n\n", 1)[1].splitlines()]
    assert body == [
        "[00:00.0] agent  您好，请讲",
        "[00:01.5] caller 我的手机 138****5678",
        "[00:05.0] caller 楼下噪音太大了",  # joined as the pages show it (trial 6, L11: 「您 好 市 民…」)
        "↳ category 投诉举报 · 承办 生态环境",  # as the overlay says it, not its JSON
        "!! warning escalation: 来电人情绪升级 [open]",
    ]


def test_export_json_to_stdout_and_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert calls("--db", str(db), "export", "new-1", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "assist-call/1"
    assert data["call"]["call_id"] == "new-1"
    assert [u["utterance_id"] for u in data["utterances"]] == ["a-1", "c-1", "c-2"]
    assert data["prompts"][0]["kind"] == "category" and data["alerts"][0]["alert_id"] == "al-1"
    out_file = tmp_path / "export.json"
    assert calls("--db", str(db), "export", "old-1", "--json", "-o", str(out_file)) == 0
    assert json.loads(out_file.read_text(encoding="utf-8"))["call"]["end_reason"] == "completed"


def test_errors(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.sqlite3"
    assert calls("--db", str(missing), "list") == calls_cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert f"no database at {missing}" in err and "ASSIST_DB" in err
    assert not missing.exists()  # the CLI never creates a database
    assert calls("--db", str(db), "show", "ghost") == calls_cli.EXIT_NOT_FOUND
    assert "no call 'ghost'" in capsys.readouterr().err
    assert calls("--db", str(db), "list", "--since", "yesterday") == calls_cli.EXIT_USAGE
    assert "not a time" in capsys.readouterr().err


def test_readonly_cli_leaves_the_file_alone(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = db.read_bytes()
    assert calls("--db", str(db), "list") == 0
    assert db.read_bytes() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 2


def test_env_var_and_the_assist_command(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSIST_DB", str(db))
    assert assist_main(["calls", "export", "old-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["call"]["agent_id"] == "agent-a"
