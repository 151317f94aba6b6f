"""``assist analyze``: single utterance, JSONL order, malformed lines, --kb, bad data."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from assist.cli import main
from assist.nlp.data import DEFAULT_DATA_DIR


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["analyze", *argv])
    captured = capsys.readouterr()
    return code, [line for line in captured.out.splitlines() if line], captured.err


def test_single_caller_utterance(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "--no-kb", "--role", "caller", "我 要 投诉 你们 物业")
    assert code == 0 and len(lines) == 1
    assert "投诉举报" in lines[0]  # not \\u-escaped
    out = json.loads(lines[0])
    assert out["intent"] == "投诉举报" and out["department"] == "住建"


def test_single_agent_utterance(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "--no-kb", "--role", "agent", "你自己去城管问吧")
    assert code == 0
    assert json.loads(lines[0])["banned"][0]["rule"] == "go_ask_yourself"


def test_jsonl_keeps_order_and_reports_malformed_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text(
        "\n".join([
            json.dumps({"role": "caller", "text": "我家停水了"}, ensure_ascii=False),
            "{not json",
            json.dumps({"role": "agent", "text": "我不知道"}, ensure_ascii=False),
            json.dumps({"role": "boss", "text": "x"}),
            json.dumps(["caller", "text"]),
            json.dumps({"role": "caller", "text": "谢谢你们,非常满意"}, ensure_ascii=False),
        ]) + "\n",
        encoding="utf-8",
    )
    code, lines, err = run(capsys, "--no-kb", "--jsonl", str(path))
    assert code == 1
    objs = [json.loads(line) for line in lines]
    assert len(objs) == 6
    assert objs[0]["department"] == "水务"
    assert objs[1]["line"] == 2 and "JSON" in objs[1]["error"]
    assert objs[2]["banned"][0]["rule"] == "dont_know"
    assert objs[3]["line"] == 4 and "role" in objs[3]["error"]
    assert objs[4]["line"] == 5
    assert objs[5]["emotion"]["label"] == "满意"
    assert "line 2" in err and "line 4" in err


def test_jsonl_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ("我打了好几次电话了", "你们踢皮球")
    lines_in = [json.dumps({"role": "caller", "text": t}, ensure_ascii=False) for t in texts]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines_in) + "\n"))
    code, lines, _ = run(capsys, "--no-kb", "--jsonl", "-")
    assert code == 0
    assert "repeated_escalation" in json.loads(lines[1])["escalation_reasons"]  # one call: shared context


def test_custom_knowledge_base(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    kb = tmp_path / "kb.jsonl"
    entries = [
        {"id": "t-1", "question": "公园几点开门", "answer": "公园每天6点开门。", "department": "城管",
         "keywords": ["公园", "开门"], "source": "测试", "updated": "2025-01-01"},
        {"id": "t-2", "question": "游泳馆怎么办卡", "answer": "到前台凭身份证办卡。", "department": "文旅",
         "keywords": ["游泳馆", "办卡"], "source": "测试", "updated": "2025-01-01"},
        {"id": "t-3", "question": "图书馆周一开放吗", "answer": "图书馆周一闭馆。", "department": "文旅",
         "keywords": ["图书馆", "周一"], "source": "测试", "updated": "2025-01-01"},
    ]
    kb.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    code, lines, _ = run(capsys, "--kb", str(kb), "--role", "caller", "请问公园几点开门")
    assert code == 0
    knowledge = json.loads(lines[0])["knowledge"]
    assert knowledge and knowledge[0]["id"] == "t-1"


def test_invalid_data_file_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    (data / "referrals.toml").write_text('[[referral]]\nnumber = "12-348"\nname = "x"\n', encoding="utf-8")
    code, lines, err = run(capsys, "--no-kb", "--data", str(data), "--role", "caller", "你好")
    assert code == 2 and lines == []
    assert "referrals.toml" in err and "referral[1]" in err and "number" in err


def test_needs_text_or_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--no-kb")
    assert code == 2 and "TEXT" in err
