"""Transcript replays through real servers on port 0: determinism, reports, stored calls, the CLI."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from assist.cli import main
from assist.protocol.decode import decode_events
from assist.training.replay import ReplayError, fresh_call_id, parse_transcript, replay_transcript, transcript_roles
from assist.training.report import build_report
from assist.training.rules import TrainingRules
from assist.training.stored_report import report_for_call
from assist.web.server import AssistServer
from tests.support.samples import LEGAL, NOISE
from tests.support.training import (
    call_url,
    canonical,
    finals,
    replay_file,
    store_of,
    stored_call,
    without_call_id,
)


async def test_two_replays_give_the_same_prompts_and_report(server: AssistServer, rules: TrainingRules) -> None:
    runs = []
    for n in range(2):
        call_id = fresh_call_id(NOISE.read_bytes(), now=1000.0 + n)
        runs.append((call_id, await replay_file(server, NOISE, call_id)))
    (id1, ev1), (id2, ev2) = runs
    assert id1 != id2
    prompts1, prompts2 = canonical(ev1, id1), canonical(ev2, id2)
    assert prompts1 and prompts1 == prompts2
    assert finals(ev1) == finals(ev2)
    r1, r2 = build_report(decode_events(ev1), rules).to_dict(), build_report(decode_events(ev2), rules).to_dict()
    assert r1["call_id"] == id1 and r1["mode"] == "training" and r1["agent_id"] == "T01"
    assert without_call_id(r1) == without_call_id(r2)
    # one lapse per utterance, with all its spans (trial 3): 喂…你说完了没有, 大概下周…应该会有
    assert len(r1["banned"]) == 2 and r1["greetings"]["opening"]["used"]


async def test_the_stored_report_matches_the_replayed_one(server: AssistServer, rules: TrainingRules) -> None:
    events = await replay_file(server, LEGAL, "replay-legal")
    streamed = build_report(decode_events(events), rules).to_dict()
    store = store_of(server)
    stored = await stored_call(store, "replay-legal")
    assert stored["call"]["mode"] == "training"
    assert await report_for_call(store, "replay-legal") == streamed
    assert streamed["referrals"][0]["number"] == "12348"
    prompts = [e for e in events if e["type"] == "prompt" and e["action"] in ("show", "update")]
    # the first question's answer is offered at 00:03 ...
    assert any(p["kind"] == "knowledge" and p["data"]["id"] == "gjj-withdraw" for p in prompts)
    # ... and the angry debt dispute at 00:11 raises no crisis card (crisis mode would fold the cards away):
    # the learned net's weak signal on it (probability ~0.2) only asks a safety question
    assert not [p for p in prompts if p["kind"] == "critical"]
    assert not [a for a in events if a["type"] == "alert" and a["severity"] == "critical"]


async def test_replaying_one_role_lets_a_trainee_answer(server: AssistServer, rules: TrainingRules) -> None:
    events = await replay_file(server, NOISE, "caller-only", roles=("caller",))
    assert {e["role"] for e in events if e["type"] == "transcript"} == {"caller"}
    report = build_report(decode_events(events), rules)
    assert report.utterances == {"caller": 3} and report.banned == ()
    assert not report.opening.used and report.empathy.emotion is not None


async def test_speed_one_follows_the_audio_clock(server: AssistServer) -> None:
    lines = parse_transcript('{"role": "agent", "start": 0.0, "end": 1.2, "text": "您好 市长 热线"}\n')
    began = time.monotonic()
    result = await replay_transcript(call_url(server), lines, ("agent",), call_id="rt", agent_id="T01", speed=1.0,
                                     on_event=lambda e: None, on_progress=lambda s: None)
    assert result.ended and time.monotonic() - began >= 1.2  # the final comes 0.3 s after the line's end


def test_transcript_roles_and_bad_lines() -> None:
    lines = parse_transcript(NOISE.read_text(encoding="utf-8"))
    assert transcript_roles(lines, None)[0] == ("agent", "caller")
    with pytest.raises(ReplayError, match="line 2: 'end' of 'line' is before its 'start'"):
        parse_transcript('{"role": "agent", "start": 0, "end": 1, "text": "a"}\n'
                         '{"role": "agent", "start": 3, "end": 1, "text": "b"}\n', "x.jsonl")
    with pytest.raises(ReplayError, match="line 1: not JSON"):
        parse_transcript("role,start\n")
    with pytest.raises(ReplayError, match="unknown field"):
        parse_transcript('{"role": "agent", "start": 0, "end": 1, "text": "a", "speaker": 2}')
    mixed = parse_transcript('{"role": "mixed", "start": 0, "end": 1, "text": "a"}\n'
                             '{"role": "agent", "start": 1, "end": 2, "text": "b"}')
    with pytest.raises(ReplayError, match="mixes"):
        transcript_roles(mixed, None)
    with pytest.raises(ReplayError, match="no lines"):
        transcript_roles(lines, ("mixed",))


def test_call_ids_are_fresh_and_name_the_input() -> None:
    a = fresh_call_id(b"call one", now=1_700_000_000.123)
    assert a.startswith("replay-") and a.endswith("-" + __import__("hashlib").sha256(b"call one").hexdigest()[:8])
    assert a != fresh_call_id(b"call one", now=1_700_000_000.124)
    assert a != fresh_call_id(b"call two", now=1_700_000_000.123)
    assert len(a) <= 128 and a.isprintable() and a.startswith("replay-20231114T221320.123Z-")
    # never mistaken for a phone or ID number by the privacy filter (it would mask stored ids)
    from assist.store.privacy import Redactor

    ids = [fresh_call_id(str(n).encode(), now=1_700_000_000 + n * 0.001) for n in range(300)]
    assert all(Redactor().mask_text(i) == i for i in ids)


# ---------------------------------------------------------------- the command


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["replay", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_local_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, str(NOISE), "--local", "--speed", "max", "--json")
    assert code == 0, err
    report = json.loads(out)  # stdout holds only the report
    assert report["call_id"].startswith("replay-") and report["mode"] == "training"
    assert [b["words"] for b in report["banned"]][:2] == ["喂…你说完了没有", "大概下周…应该会有"]
    assert report["empathy"]["steps"][1]["done"] and not report["empathy"]["steps"][0]["done"]
    assert "[禁用语] 「喂…你说完了没有」" in err  # the prompts went to stderr as they came


def test_cli_local_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, str(LEGAL), "--local", "--speed", "max", "--agent", "T07")
    assert code == 0
    prompts_end = out.index("培训报告")
    assert "[转介] 12348" in out[:prompts_end] and "[00:09] 坐席: 这个你自己去社保局问吧" in out[:prompts_end]
    report = out[prompts_end:]
    for text in ("开头语", "结束语", "「你自己去社保局问吧」", "情绪承接", "12348", "改进建议"):
        assert text in report


def test_cli_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_cli(capsys, "--local")[0] == 2
    code, _, err = run_cli(capsys, str(NOISE), "--call", "x", "--local")
    assert code == 2 and "not both" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"role": "boss", "start": 0, "end": 1, "text": "hi"}\n', encoding="utf-8")
    code, _, err = run_cli(capsys, str(bad), "--local")
    assert code == 2 and "bad.jsonl, line 1: role must be among" in err
    code, _, err = run_cli(capsys, str(tmp_path / "none.jsonl"), "--local")
    assert code == 2 and "cannot read" in err
    code, _, err = run_cli(capsys, str(NOISE), "--roles", "agent,agent", "--local")
    assert code == 2 and "twice" in err
    code, _, err = run_cli(capsys, str(NOISE), "--model", "/x", "--url", "ws://127.0.0.1:9/ws/call")
    assert code == 2 and "--local" in err


def test_cli_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    began = time.monotonic()
    code, _, err = run_cli(capsys, str(NOISE), "--url", "ws://127.0.0.1:9", "--speed", "max")
    assert code == 1 and "cannot reach the server at ws://127.0.0.1:9/ws/call" in err
    assert time.monotonic() - began < 10


async def test_cli_over_url_and_stored_call(server: AssistServer, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Replay over --url into a running server, then replay that stored call with --call from its database."""
    code = await asyncio.to_thread(main, ["replay", str(NOISE), "--url", server.url, "--speed", "max", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    streamed = json.loads(out)
    store = store_of(server)
    await stored_call(store, streamed["call_id"])
    assert await report_for_call(store, streamed["call_id"]) == streamed
    # the stored call, replayed in-process from the database file: the same report (masked number included)
    db = store.path
    code = await asyncio.to_thread(main, ["replay", "--call", streamed["call_id"], "--db", str(db), "--local",
                                          "--speed", "max", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    again = json.loads(out)
    assert again["call_id"] != streamed["call_id"]
    assert without_call_id(again) == without_call_id(streamed)
    # an unknown stored call
    code = await asyncio.to_thread(main, ["replay", "--call", "nope", "--db", str(db), "--local"])
    assert code == 1 and "no call 'nope'" in capsys.readouterr().err


async def test_a_trainer_token_is_sent(analyzer: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Against a server that requires tokens, --token (a trainer's) is sent; without it the replay is refused."""
    from assist.audio.recognizer import NoModelFactory
    from assist.live.pipeline import AssistPipeline
    from assist.settings import ServerConfig
    from assist.store.privacy import Redactor
    from assist.web.auth import Role, TokenStore

    tokens = TokenStore(path=tmp_path / "tokens.toml")
    coach, _ = tokens.issue(Role.TRAINER, "li", 3600)
    config = ServerConfig(host="127.0.0.1", port=0, auth="on", store=False)
    pipeline = AssistPipeline(analyzer=analyzer, redactor=Redactor())
    async with AssistServer(config, NoModelFactory(), pipeline=pipeline, tokens=tokens) as secured:
        argv = ["replay", str(LEGAL), "--url", secured.url, "--speed", "max", "--json"]
        code = await asyncio.to_thread(main, [*argv, "--token", coach])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out)["referrals"][0]["number"] == "12348"
        code = await asyncio.to_thread(main, argv)
        assert code == 1 and "HTTP 401" in capsys.readouterr().err


async def test_dashboard_report_endpoint(analyzer: Any, tmp_path: Path) -> None:
    """``report_for_call`` as the HTTP routes' report builder: GET /api/calls/ID/report gives the replay's report."""
    import urllib.error
    import urllib.request

    from assist.app import open_pipeline
    from assist.audio.recognizer import NoModelFactory
    from assist.settings import ServerConfig
    from assist.training.replay import local_config
    from assist.web.routes import HttpRoutes

    config = local_config(ServerConfig(), tmp_path / "calls.sqlite3")
    pipeline = await open_pipeline(config, analyzer)
    routes = HttpRoutes(None, pipeline.store, report_builder=report_for_call)
    server = AssistServer(config, NoModelFactory(), pipeline=pipeline, routes=routes)

    def get(path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    try:
        await server.start()
        events = await replay_file(server, NOISE, "dash-1")
        await stored_call(store_of(server), "dash-1")
        status, body = await asyncio.to_thread(get, "/api/calls/dash-1/report")
        assert status == 200 and body == build_report(decode_events(events)).to_dict()
        status, body = await asyncio.to_thread(get, "/api/calls/nope/report")
        assert status == 404 and body["error"]["code"] == "not_found"
    finally:
        await server.stop(grace=5)
        assert pipeline.store is not None
        await pipeline.store.close()


async def test_cli_live_sends_a_drill_the_supervisors_see(server: AssistServer,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """--live (trial 6, D1: no command streamed a live call without a speech model): a live call, its alerts raised
    and stored, watched as the operator's overlay."""
    code = await asyncio.to_thread(main, ["replay", str(NOISE), "--url", server.url, "--speed", "max", "--live",
                                          "--agent", "A05", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["mode"] == "live" and report["agent_id"] == "A05"
    assert "/?agent=A05" in err and "/supervisor" in err
    stored = await stored_call(store_of(server), report["call_id"])
    assert stored["call"]["mode"] == "live"
    assert stored["alerts"], "a live call's banned phrases alert the supervisors"
