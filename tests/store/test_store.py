"""The call store: migrations, WAL, writes as they happen, search, resume, redaction at rest."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from assist.protocol.enums import Emotion
from assist.protocol.events import (
    Alert,
    AlertAcknowledged,
    CallEnded,
    CallStarted,
    CallState,
    CallSummary,
    EmotionLevel,
    Prompt,
    Span,
    Transcript,
    Word,
)
from assist.protocol.payloads import BannedPayload, ReferralPayload
from assist.store import migrations
from assist.store.db import NotFound, SchemaError, Store, StoreBusy, StoreError, default_db_path, resolve_db_path
from assist.store.history import HistoryQueryError, history_call, history_query, parse_time

MOBILE = "13812345678"
MOBILE_SPOKEN = "幺 三 八 幺 二 三 四 五 六 七 八"
ID_NUMBER = "11010519491231002X"
ID_SPOKEN = "幺 幺 零 幺 零 五 幺 九 四 九 幺 二 三 幺 零 零 二 叉"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The same tests against both backends (PostgreSQL: a fresh database on the session's server)."""
    if request.param == "sqlite":
        s: Store = await Store.open(tmp_path / "calls.sqlite3")
    else:
        from assist.store.open import open_store

        s = cast(Store, await open_store(request.getfixturevalue("postgres_url")))
    yield s
    await s.close()


def sqlite_only(store: Store, why: str) -> None:
    if not isinstance(store, Store):
        pytest.skip(f"SQLite only: {why}")


async def committed(store: Store, sql: str) -> list[tuple[object, ...]]:
    """Rows seen by another connection: only committed data is visible there."""
    if isinstance(store, Store):
        with raw(store.path) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    import asyncpg

    conn = await asyncpg.connect(cast(Any, store).url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def raw(path: Path) -> sqlite3.Connection:
    """An independent connection, as another process would have."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def all_bytes(path: Path) -> bytes:
    """The database file and its WAL, as they are on disk."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def alert(alert_id: str, call_id: str = "c1", message: str = "坐席使用了禁用语") -> Alert:
    return Alert(
        alert_id=alert_id,
        call_id=call_id,
        agent_id="a1",
        kind="banned",
        severity="warning",
        message=message,
        audio_time=12.5,
        utterance_id="agent-3",
        created_at=time.time(),
    )


def prompt(prompt_id: str, action: str = "show", data: ReferralPayload | None = None) -> Prompt:
    return Prompt(
        prompt_id=prompt_id,
        call_id="c1",
        role="caller",
        utterance_id="caller-1",
        kind="referral",
        action=action,
        audio_time=3.0,
        span=Span(text="律师", start=2, end=4),
        data=data if data is not None else ReferralPayload("12348", "法律服务热线", "", ""),
    )


# ---------------------------------------------------------------- schema and durability settings


async def test_new_database_is_wal_and_fully_migrated(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "new.sqlite3"
    async with await Store.open(path) as store:
        assert await store.durability() == {"journal_mode": "wal", "synchronous": "NORMAL"}
        assert await store.schema_version() == migrations.LATEST
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m.version for m in migrations.MIGRATIONS]


async def test_synchronous_full_setting(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "f.sqlite3", synchronous="full") as store:
        assert (await store.durability())["synchronous"] == "FULL"
    with pytest.raises(ValueError, match="synchronous"):
        await Store.open(tmp_path / "g.sqlite3", synchronous="OFF")


async def test_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    await (await Store.open(path)).close()
    with raw(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'from the future', 0)", (migrations.LATEST + 7,))
    with pytest.raises(SchemaError, match=f"schema version {migrations.LATEST + 7}.*upgrade"):
        await Store.open(path)
    with pytest.raises(SchemaError):
        await Store.open(path, readonly=True)


async def test_foreign_and_broken_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    with pytest.raises(SchemaError, match="not an assist call store"):
        await Store.open(other)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        await Store.open(junk)


async def test_migration_from_version_1_indexes_existing_text(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with await Store.open(path) as store:
        await store.start_call("c1", "a1", 1000.0)
        await store.add_utterance("c1", "caller", "u1", "楼 下 施 工 噪 音 很 大", 0.0, 2.0)
    with raw(path) as conn:  # turn it back into a version-1 database
        conn.execute("DROP TABLE IF EXISTS utterances_fts")
        for trigger in ("ins", "del", "upd"):
            conn.execute(f"DROP TRIGGER IF EXISTS utterances_fts_{trigger}")
        conn.execute("ALTER TABLE alerts DROP COLUMN ack_note")  # added by migration 3
        for column in ("count", "last_time", "last_at"):  # added by migration 4
            conn.execute(f"ALTER TABLE alerts DROP COLUMN {column}")
        conn.execute("ALTER TABLE calls DROP COLUMN audio_seconds")  # added by migration 5
        for column in ("crisis_numbers", "told", "owed"):  # added by migrations 6 and 7
            conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
        conn.execute("DELETE FROM schema_version WHERE version > 1")
    with pytest.raises(SchemaError, match="start the server once"):
        await Store.open(path, readonly=True)
    async with await Store.open(path) as store:
        assert await store.schema_version() == migrations.LATEST
        assert [c["call_id"] for c in await store.list_calls(search="施工噪音")] == ["c1"]


async def test_trigram_index_is_used_when_available(store: Store) -> None:
    sqlite_only(store, "FTS5 is SQLite's index")
    with sqlite3.connect(":memory:") as probe:
        try:
            probe.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
            expected = True
        except sqlite3.OperationalError:
            expected = False
    assert store.fts is expected


# ---------------------------------------------------------------- writing as it happens


async def test_utterance_is_committed_when_add_returns(store: Store) -> None:
    await store.start_call("c1", "a1", time.time())
    await store.add_utterance("c1", "caller", "caller-1", "您好我要反映问题", 0.5, 2.0)
    rows = await committed(store, "SELECT utterance_id, role, text FROM utterances")
    assert [tuple(r) for r in rows] == [("caller-1", "caller", "您好我要反映问题")]


async def test_full_call_round_trip(store: Store) -> None:
    started = time.time() - 60
    assert await store.start_call("c1", "a1", started, "live", {"line": "12345-1"}) is False
    await store.add_utterance("c1", "agent", "agent-1", "您好，12345热线", 0.0, 1.5, [Word("您好", 0.0, 0.6, 0.9)])
    await store.add_utterance("c1", "caller", "caller-1", "我想咨询劳动合同的问题", 1.8, 4.0)
    await store.add_prompt(prompt("p1"))
    await store.add_alert(alert("al-1"))
    await store.end_call("c1", started + 50, "completed")

    data = await store.get_call("c1")
    call = data["call"]
    assert (call["agent_id"], call["end_reason"], call["duration"], call["meta"]) == (
        "a1",
        "completed",
        50.0,
        {"line": "12345-1"},
    )
    assert [u["utterance_id"] for u in data["utterances"]] == ["agent-1", "caller-1"]
    assert data["utterances"][0]["words"] == [{"word": "您好", "start": 0.0, "end": 0.6, "conf": 0.9}]
    assert data["prompts"][0]["event"]["data"] == {"number": "12348", "name": "法律服务热线", "reason": "",
                                                  "script": ""}
    assert data["alerts"][0]["alert_id"] == "al-1"
    exported = await store.export_call("c1")
    assert exported["format"] == "assist-call/1"
    assert json.loads(json.dumps(exported, ensure_ascii=False))["utterances"] == data["utterances"]


async def test_prompt_updates_and_withdraw_keep_one_row(store: Store) -> None:
    await store.start_call("c1", "a1", time.time())
    await store.add_prompt(prompt("p1", "show", ReferralPayload("12348", "", "", "")))
    updated = ReferralPayload("12348", "法律援助", "", "")
    await store.add_prompt(prompt("p1", "update", updated))
    await store.add_prompt(prompt("p1", "withdraw", ReferralPayload("12348", "", "", "")))
    (p,) = (await store.get_call("c1"))["prompts"]
    assert (p["action"], p["updates"]) == ("withdraw", 2)
    assert p["event"]["data"] == {"number": "12348", "name": "法律援助", "reason": "", "script": ""}  # last shown


async def test_alert_ack_first_wins_and_unknown_alert(store: Store) -> None:
    await store.start_call("c1", "a1", time.time())
    await store.add_alert(alert("al-1"))
    first = await store.ack_alert("al-1", "supervisor-wang", 2000.0, "已回拨 13812345678")
    second = await store.ack_alert("al-1", "supervisor-li", 2001.0, "later")
    assert (first["acknowledged_by"], first["acknowledged_at"]) == ("supervisor-wang", 2000.0)
    assert first["ack_note"].startswith("已回拨") and "13812345678" not in first["ack_note"]  # masked
    assert second == first
    assert await store.list_alerts(unacknowledged=True) == []
    with pytest.raises(NotFound):
        await store.ack_alert("nope", "x", 1.0)


async def test_unknown_call_and_bad_arguments(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.add_utterance("ghost", "caller", "u1", "text", 0.0, 1.0)
    with pytest.raises(NotFound):
        await store.end_call("ghost", 1.0, "completed")
    with pytest.raises(NotFound):
        await store.get_call("ghost")
    await store.start_call("c1", "a1", 1.0)
    with pytest.raises(ValueError, match="reason"):
        await store.end_call("c1", 2.0, "finished")
    with pytest.raises(ValueError, match="role"):
        await store.add_utterance("c1", "robot", "u1", "text", 0.0, 1.0)
    with pytest.raises(ValueError, match="mode"):
        await store.start_call("c2", "a1", 1.0, "test")
    with pytest.raises(ValueError, match="prompt"):
        await store.add_prompt({"kind": "referral"})  # type: ignore[arg-type]


async def test_one_bad_write_in_a_batch_fails_alone(store: Store) -> None:
    await store.start_call("c1", "a1", 1.0)
    writes = [store.add_utterance("c1", "caller", f"u{i}", f"第{i}句", float(i), i + 0.5) for i in range(20)]
    writes.insert(7, store.add_utterance("ghost", "caller", "x", "lost", 0.0, 1.0))
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert [type(r) for r in results if isinstance(r, BaseException)] == [NotFound]
    assert len(await store.utterances("c1")) == 20


async def test_many_concurrent_writers_all_committed(store: Store) -> None:
    for c in range(5):
        await store.start_call(f"c{c}", f"a{c}", float(c))

    async def talk(c: int) -> None:
        for i in range(40):
            await store.add_utterance(f"c{c}", "caller", f"u{i}", f"话{i}", float(i), i + 0.5)

    await asyncio.gather(*(talk(c) for c in range(5)))
    assert await committed(store, "SELECT count(*) FROM utterances") == [(200,)]
    if isinstance(store, Store):
        with raw(store.path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ---------------------------------------------------------------- resume and restart


async def test_resumed_call_never_duplicates(store: Store) -> None:
    assert await store.start_call("c1", "a1", 100.0) is False
    await store.add_utterance("c1", "caller", "caller-1", "第一 句", 0.0, 1.0)
    await store.add_alert(alert("al-1"))
    await store.end_call("c1", 110.0, "client_gone")
    # the client reconnects and re-sends from the last acknowledged audio
    assert await store.start_call("c1", "a1", 100.0) is True
    await store.add_utterance("c1", "caller", "caller-1", "第一句", 0.0, 1.1)
    await store.add_utterance("c1", "caller", "caller-2", "第二句", 1.2, 2.0)
    await store.add_alert(alert("al-1", message="re-sent"))
    data = await store.get_call("c1")
    assert [(u["utterance_id"], u["text"]) for u in data["utterances"]] == [
        ("caller-1", "第一句"),
        ("caller-2", "第二句"),
    ]
    assert [a["message"] for a in data["alerts"]] == ["坐席使用了禁用语"]
    assert (data["call"]["ended_at"], data["call"]["end_reason"], data["call"]["resumes"]) == (None, None, 1)


async def test_open_calls_marked_interrupted_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        await store.start_call("open-1", "a1", 100.0)
        await store.add_utterance("open-1", "caller", "u1", "喂", 0.0, 1.0)
        await store.start_call("done-1", "a2", 100.0)
        await store.end_call("done-1", 130.0, "completed")
    async with await Store.open(path) as store:
        assert await store.mark_open_calls_interrupted() == ["open-1"]
        assert await store.mark_open_calls_interrupted() == []
        call = (await store.get_call("open-1"))["call"]
        assert call["end_reason"] == "interrupted"
        assert call["ended_at"] >= 100.0
        assert (await store.get_call("done-1"))["call"]["end_reason"] == "completed"


# ---------------------------------------------------------------- the event-sink form


async def test_record_events_as_a_sink(store: Store) -> None:
    now = time.time()
    events = [
        CallStarted(call_id="c1", agent_id="a1", started_at=now, mode="training"),
        Transcript(call_id="c1", role="caller", utterance_id="u1", final=False, text="我的", start=0, end=1),
        Transcript(
            call_id="c1", role="caller", utterance_id="u1", final=True, text=f"我的手机{MOBILE}", start=0, end=2
        ),
        prompt("p1"),
        alert("al-1"),
        AlertAcknowledged(alert_id="al-1", call_id="c1", by="sup", at=now + 5),
        CallEnded(call_id="c1", agent_id="a1", summary=CallSummary(duration=9.0, utterances={}, reason="shutdown")),
    ]
    futures = [store.record(e) for e in events]
    assert futures[1] is None  # partials are not stored
    await asyncio.gather(*(f for f in futures if f is not None))
    data = await store.get_call("c1")
    assert data["call"]["mode"] == "training" and data["call"]["end_reason"] == "shutdown"
    assert [u["text"] for u in data["utterances"]] == ["我的手机138****5678"]
    assert data["alerts"][0]["acknowledged_by"] == "sup"
    assert len(data["prompts"]) == 1


async def test_an_ended_crisis_calls_numbers_and_those_told_are_kept(store: Store) -> None:
    """The last call state of a crisis call (inactive) keeps its numbers and those the operator told, so the
    supervisor's pin still says 未告知 120 · 请回访 after a reload; a live state or a call without a crisis writes
    nothing."""
    now = time.time()

    def state(call_id: str, active: bool, numbers: tuple[str, ...], told: tuple[str, ...]) -> CallState:
        return CallState(call_id=call_id, agent_id="a1", started_at=now, active=active, duration=30.0,
                         emotion=EmotionLevel(Emotion.CALM, 0.0), intent=None, department=None, critical=bool(numbers),
                         crisis_numbers=numbers, told=told, owed=tuple(n for n in numbers if n not in told))

    for call_id in ("crisis", "calm"):
        await store.start_call(call_id, "a1", now)
    assert store.record(state("crisis", True, ("110", "120"), ())) is None  # live: the bus has it
    assert store.record(state("calm", False, (), ())) is None
    future = store.record(state("crisis", False, ("110", "120"), ("110",)))
    assert future is not None
    await future
    crisis = (await store.get_call("crisis"))["call"]
    assert (crisis["crisis_numbers"], crisis["told"], crisis["owed"]) == (["110", "120"], ["110"], ["120"])
    calm = (await store.get_call("calm"))["call"]
    assert (calm["crisis_numbers"], calm["told"]) == ([], [])
    assert [c["crisis_numbers"] for c in (await store.list_calls()) if c["call_id"] == "crisis"] == [["110", "120"]]
    # the call resumed on another connection: its new session told 120 only; 110, told before, stays told
    await (store.record(state("crisis", False, ("110", "120"), ("120",))) or asyncio.sleep(0))
    crisis = (await store.get_call("crisis"))["call"]
    assert (crisis["crisis_numbers"], crisis["told"], crisis["owed"]) == (["110", "120"], ["110", "120"], [])


async def test_record_refuses_when_the_queue_is_full(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "q.sqlite3", queue_size=1) as store:
        first = store.record(CallStarted(call_id="c1", agent_id="a1", started_at=1.0))
        with pytest.raises(StoreBusy):
            store.record(CallStarted(call_id="c2", agent_id="a1", started_at=1.0))
        assert first is not None
        await first
        assert [c["call_id"] for c in await store.list_calls()] == ["c1"]


async def test_closed_and_readonly_stores_refuse_writes(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    await store.start_call("c1", "a1", 1.0)
    reader = await Store.open(path, readonly=True)  # while the writer is open, as the CLI would
    try:
        assert [c["call_id"] for c in await reader.list_calls()] == ["c1"]
        await store.add_utterance("c1", "agent", "u1", "您好", 0.0, 1.0)
        assert len(await reader.utterances("c1")) == 1
        with pytest.raises(StoreError, match="read-only"):
            await reader.start_call("c2", "a1", 1.0)
    finally:
        await reader.close()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await store.start_call("c3", "a1", 1.0)
    with pytest.raises(StoreError, match="no database"):
        await Store.open(tmp_path / "missing.sqlite3", readonly=True)


# ---------------------------------------------------------------- search and listing


async def _sample(store: Store) -> None:
    await store.start_call("c-old", "a1", 1000.0)
    await store.add_utterance("c-old", "caller", "u1", "小区 停 水 三 天 了", 1.0, 3.0)
    await store.start_call("c-mid", "a2", 2000.0)
    await store.add_utterance("c-mid", "caller", "u1", "楼下饭店油烟很大", 1.0, 3.0)
    await store.add_utterance("c-mid", "caller", "u2", "晚上还有噪音", 4.0, 5.0)
    await store.add_utterance("c-mid", "agent", "u3", "100%会转给城管", 6.0, 7.0)
    await store.start_call("c-new", "a1", 3000.0)
    await store.add_utterance("c-new", "caller", "u1", f"我的电话 {MOBILE_SPOKEN} 停水了", 1.0, 3.0)


async def test_list_calls_filters(store: Store) -> None:
    await _sample(store)
    assert [c["call_id"] for c in await store.list_calls()] == ["c-new", "c-mid", "c-old"]
    assert [c["call_id"] for c in await store.list_calls(agent="a1")] == ["c-new", "c-old"]
    assert [c["call_id"] for c in await store.list_calls(since=1500.0)] == ["c-new", "c-mid"]
    assert [c["call_id"] for c in await store.list_calls(since=1500.0, until=2500.0)] == ["c-mid"]
    assert [c["call_id"] for c in await store.list_calls(limit=1, offset=1)] == ["c-mid"]
    assert (await store.list_calls(agent="a2"))[0]["utterances"] == 3
    assert [c["call_id"] for c in await store.list_calls(call_id="c-mid")] == ["c-mid"]
    assert await store.list_calls(call_id="c-none") == []
    with pytest.raises(ValueError):
        await store.list_calls(limit=0)


async def test_list_calls_give_the_callers_first_sentence(store: Store) -> None:
    await _sample(store)
    await store.start_call("c-greet", "a3", 4000.0)
    await store.add_utterance("c-greet", "caller", "u2", "我想问一下公积金怎么提取", 3.0, 5.0)
    await store.add_utterance("c-greet", "agent", "u1", "您好市长热线请问有什么可以帮您", 0.0, 2.5)
    await store.start_call("c-agent", "a3", 5000.0)
    await store.add_utterance("c-agent", "agent", "u1", "您好市长热线", 0.0, 2.0)
    await store.start_call("c-empty", "a3", 6000.0)
    first = {c["call_id"]: c["first_text"] for c in await store.list_calls()}
    assert first["c-greet"] == "我想问一下公积金怎么提取"  # the caller's, not the agent's greeting
    assert first["c-mid"] == "楼下饭店油烟很大"
    assert first["c-agent"] == "您好市长热线"  # the caller said nothing
    assert first["c-empty"] == ""
    assert "5678" in first["c-new"] and MOBILE_SPOKEN not in first["c-new"]  # masked as stored


@pytest.mark.parametrize("use_fts", [True, False])
async def test_search(store: Store, use_fts: bool) -> None:
    if not isinstance(store, Store):
        if not use_fts:
            pytest.skip("PostgreSQL has one search path (LIKE, with the pg_trgm index where available)")
    elif use_fts and not store.fts:
        pytest.skip("this SQLite has no FTS5 trigram tokenizer")
    else:
        store.fts = use_fts  # False: the LIKE fallback used without trigram support
    await _sample(store)

    async def ids(text: str) -> list[str]:
        return [c["call_id"] for c in await store.list_calls(search=text)]

    assert await ids("停水") == ["c-new", "c-old"]  # 2 characters; Vosk's spaces ignored
    assert await ids("油烟很大") == ["c-mid"]  # 4 characters: the trigram index
    assert await ids("油烟 噪音") == ["c-mid"]  # every term, in any utterance of the call
    assert await ids("油烟 停水") == []
    assert await ids("100%") == ["c-mid"]  # LIKE wildcards are literal
    assert await ids("1%会") == []
    assert await ids(MOBILE) == ["c-new"]  # a typed number is masked like the stored text
    assert await ids("138****5678") == ["c-new"]
    (hit,) = await store.list_calls(search="噪音")
    assert hit["matches"] == [
        {"utterance_id": "u2", "role": "caller", "start": 4.0, "end": 5.0, "text": "晚上还有噪音"}
    ]


# ---------------------------------------------------------------- personal data at rest


async def test_nothing_personal_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        await store.start_call("c1", "a1", 1.0, meta={"caller_number": MOBILE})
        await store.add_utterance(
            "c1",
            "caller",
            "u1",
            f"我的电话 {MOBILE_SPOKEN} 身份证 {ID_NUMBER}",
            0.0,
            5.0,
            [Word(w, 0.1 * i, 0.1 * i + 0.1) for i, w in enumerate(ID_SPOKEN.split())],
        )
        await store.add_prompt(prompt("p1", data=ReferralPayload("12348", "法律援助", f"回拨{MOBILE}", "")))
        await store.add_alert(alert("al-1", message=f"来电人身份证 {ID_SPOKEN}"))
        text = (await store.utterances("c1"))[0]["text"]
        assert text == "我的电话 138****5678 身份证 110105********002X"
        assert len(await store.list_calls(search="身份证")) == 1
        on_disk = all_bytes(path)  # before close: data in the WAL counts too
    on_disk += all_bytes(path)
    for secret in (MOBILE, MOBILE_SPOKEN, MOBILE_SPOKEN.replace(" ", ""), ID_NUMBER, ID_NUMBER[6:14]):
        assert secret.encode() not in on_disk, secret
    assert "幺 幺 零".encode() not in on_disk  # the spoken ID in the words and the alert
    assert b"138****5678" in on_disk


async def test_keep_originals_is_explicit(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    original = f"回拨 {MOBILE}"
    async with await Store.open(path, keep_originals=True) as store:
        await store.start_call("c1", "a1", 1.0)
        await store.add_utterance("c1", "caller", "u1", original, 0.0, 1.0)
        await store.add_utterance("c1", "caller", "u2", "没有号码", 1.0, 2.0)
        plain = await store.utterances("c1")
        assert [u["text"] for u in plain] == ["回拨 138****5678", "没有号码"]
        assert all("original" not in u for u in plain)
        kept = await store.utterances("c1", include_originals=True)
        assert [u.get("original") for u in kept] == [original, None]
        exported = await store.export_call("c1", include_originals=True)
        assert exported["utterances"][0]["original"] == original
    assert MOBILE.encode() in all_bytes(path)
    with pytest.raises(ValueError, match="keep_originals"):
        from assist.store.privacy import Redactor

        await Store.open(path, keep_originals=False, redactor=Redactor(keep_originals=True))


# ---------------------------------------------------------------- history API for the dashboard


async def test_history_query(store: Store) -> None:
    await _sample(store)
    page = await history_query(store, {"limit": "2"})
    assert [c["call_id"] for c in page["calls"]] == ["c-new", "c-mid"]
    assert page["next_offset"] == 2
    last = await history_query(store, {"limit": "2", "offset": "2"})
    assert [c["call_id"] for c in last["calls"]] == ["c-old"] and last["next_offset"] is None
    found = await history_query(store, {"search": " 停水 ", "agent": "a1", "since": "1970-01-01T00:30+00:00"})
    assert [c["call_id"] for c in found["calls"]] == ["c-new"]
    assert found["query"]["search"] == "停水" and found["query"]["since"] == 1800.0
    json.dumps(found, ensure_ascii=False)  # JSON-ready
    for bad in ({"limit": "x"}, {"limit": "0"}, {"since": "yesterday"}, {"order": "asc"}, {"search": "字" * 201}):
        with pytest.raises(HistoryQueryError):
            await history_query(store, bad)
    assert (await history_call(store, "c-mid"))["call"]["agent_id"] == "a2"


def test_parse_time() -> None:
    now = 1_000_000.0
    assert parse_time("2h", now) == now - 7200
    assert parse_time("1d", now) == now - 86400
    assert parse_time("30m", now) == now - 1800
    assert parse_time("1w", now) == now - 7 * 86400
    assert parse_time("2024-05-01T08:30:00+08:00", now) == 1714523400.0
    assert parse_time("1714523400", now) == 1714523400.0
    with pytest.raises(HistoryQueryError, match="not a time"):
        parse_time("soon", now)


def test_db_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ASSIST_DATA_DIR", raising=False)
    assert default_db_path() == Path.cwd() / "var" / "assist.sqlite3"  # the working directory (assist.paths)
    assert default_db_path({"ASSIST_DATA_DIR": str(tmp_path)}) == tmp_path / "var" / "assist.sqlite3"
    assert resolve_db_path(tmp_path / "x.db", env={"ASSIST_DB": "/elsewhere.db"}) == tmp_path / "x.db"
    assert resolve_db_path(None, env={"ASSIST_DB": str(tmp_path / "env.db")}) == tmp_path / "env.db"
    assert resolve_db_path(None, env={}) == default_db_path()
    monkeypatch.setenv("ASSIST_DB", str(tmp_path / "from-env.db"))
    assert resolve_db_path() == tmp_path / "from-env.db"


async def test_ids_that_look_like_numbers_are_not_masked(tmp_path: Path) -> None:
    """A call id made of digits (e.g. a PBX call number) still links its prompts and alerts."""
    store = await Store.open(tmp_path / "ids.sqlite3")
    call_id = "13812345678"  # shaped like a mobile number
    await store.start_call(call_id, "a1", 1.0)
    await store.add_prompt(Prompt(f"{call_id}:agent-0:banned:0", call_id, "agent", "agent-0", "banned", "show", 1.0,
                                  None, BannedPayload("rule", "我的电话13812345678", "")))
    await store.add_alert(Alert(f"{call_id}:a1", call_id, "a1", "banned", "warning", "客户电话13812345678", 1.0,
                                "agent-0", 2.0))
    call = await store.get_call(call_id)
    assert [a["alert_id"] for a in call["alerts"]] == [f"{call_id}:a1"]
    assert "138****5678" in call["alerts"][0]["message"]
    [prompt] = call["prompts"]
    assert prompt["prompt_id"] == f"{call_id}:agent-0:banned:0"
    assert prompt["event"]["data"]["said"] == "我的电话138****5678"
    await store.close()


async def test_a_continuing_crisis_is_stored_once_with_its_count_and_keeps_its_ack(store: Store) -> None:
    """Trial 3: a re-raised crisis is the same alert with a higher count (assist/live/alerts.py); the store
    keeps one row with the newest count and times, and a re-raise never undoes the acknowledgement."""
    await store.start_call("c1", "a1", time.time())
    first = dataclasses.replace(alert("al-c"), kind="critical", severity="critical", message="危机信号:甲")
    await store.add_alert(first)
    await store.ack_alert("al-c", "sup", first.created_at + 5, "已介入")
    await store.add_alert(dataclasses.replace(first, count=3, last_time=60.0, last_at=first.created_at + 30,
                                              message="危机信号:乙"))
    await store.add_alert(dataclasses.replace(first, count=2))  # an older copy arriving late changes nothing
    rows = (await store.get_call("c1"))["alerts"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["count"], row["last_time"], row["message"]) == (3, 60.0, "危机信号:乙")
    assert (row["acknowledged_by"], row["ack_note"]) == ("sup", "已介入")
