"""Live assist end to end over real websockets: a Chinese call replayed from a transcript file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.support.live_server import LiveServer, replay
from tests.support.samples import sample_lines


async def recv_json(ws: ClientConnection, wait: float = 5.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
    return msg


async def subscribe(url: str, **what: Any) -> ClientConnection:
    ws = await connect(url + "/ws/subscribe")
    await ws.send(json.dumps({"type": "subscribe", **what}))
    first = await recv_json(ws)
    assert first["type"] == "subscribed"
    return ws


async def collect_until(ws: ClientConnection, stop: str, wait: float = 10.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(wait):
        while True:
            ev = await recv_json(ws, wait)
            out.append(ev)
            if ev["type"] == stop:
                return out


def prompts(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "prompt" and e["kind"] == kind]


async def test_legal_dispute_call_gives_referral_knowledge_and_banned_warning(live_server: LiveServer) -> None:
    overlay = await subscribe(live_server.url, agent_id="a1")
    events = await replay(live_server.url, "call-legal", sample_lines("legal-dispute.jsonl"))
    seen = await collect_until(overlay, "call_ended")

    for stream in (events, seen):  # the call socket and the overlay get the same prompts
        referral = [p for p in prompts(stream, "referral") if p["action"] == "show"]
        assert "12348" in {p["data"]["number"] for p in referral}
        knowledge = [p for p in prompts(stream, "knowledge") if p["action"] != "withdraw"]
        assert knowledge and knowledge[-1]["data"]["id"] == "gjj-withdraw"  # updated as the question grows
        banned = [p for p in prompts(stream, "banned") if p["action"] == "show"]
        assert banned and "社保局" in banned[0]["data"]["said"] and banned[0]["data"]["suggestion"]
        assert banned[0]["role"] == "agent" and banned[0]["span"]["text"]
    # a prompt is shown once per utterance, never repeated as the partial grows
    shows = [(p["utterance_id"], p["kind"], p["prompt_id"]) for p in seen if p["type"] == "prompt"
             and p["action"] == "show"]
    assert len(shows) == len(set(shows))
    # each prompt carries call id, role, utterance id and audio time
    for p in (e for e in seen if e["type"] == "prompt"):
        assert p["call_id"] == "call-legal" and p["role"] in ("agent", "caller") and p["utterance_id"]
        assert p["audio_time"] >= 0
    # call state for the overlay: the category so far and the referrals suggested
    states = [e for e in seen if e["type"] == "call_state"]
    assert states[-1]["referrals"] and "12348" in states[-1]["referrals"]
    assert states[-1]["warnings"] >= 1 and states[-1]["intent"] in ("咨询", "求助")
    await overlay.close()


async def test_banned_phrase_flagged_before_the_sentence_ends(live_server: LiveServer) -> None:
    overlay = await subscribe(live_server.url, call_id="call-mid")
    lines = [{"role": "agent", "start": 0.0, "end": 3.0, "text": "这个 你 自己 去 社保局 问 吧 我 这边 也 不 清楚"}]
    await replay(live_server.url, "call-mid", lines)
    seen = await collect_until(overlay, "call_ended")
    order = [(e["type"], e.get("final"), e.get("kind")) for e in seen if e["type"] in ("transcript", "prompt")]
    banned_at = order.index(("prompt", None, "banned"))
    final_at = order.index(("transcript", True, None))
    assert banned_at < final_at  # flagged on a partial, while the operator was still speaking
    await overlay.close()


async def test_supervisor_sees_alert_and_acknowledgement_reaches_other_supervisors(live_server: LiveServer) -> None:
    sup1 = await subscribe(live_server.url, all=True)
    sup2 = await subscribe(live_server.url, all=True)
    await replay(live_server.url, "call-noise", sample_lines("noise-complaint.jsonl"), agent="a7")
    seen1 = await collect_until(sup1, "call_ended")
    alerts = [e for e in seen1 if e["type"] == "alert"]
    kinds = {a["kind"] for a in alerts}
    assert {"banned", "escalation"} <= kinds
    banned = next(a for a in alerts if a["kind"] == "banned")
    ack = {"type": "ack", "alert_id": banned["alert_id"], "by": "班长李", "note": "已提醒坐席\n注意用语"}
    await sup1.send(json.dumps(ack))
    got = [e for e in await collect_until(sup2, "alert_ack") if e["type"] == "alert_ack"]
    assert got[-1]["alert_id"] == banned["alert_id"] and got[-1]["by"] == "班长李"
    assert got[-1]["note"] == "已提醒坐席 注意用语"  # one line: the newline is folded to a space
    # a dashboard that connects later sees the alert already acknowledged
    late = await connect(live_server.url + "/ws/subscribe")
    await late.send(json.dumps({"type": "subscribe", "all": True}))
    snap = await recv_json(late)
    acked = [a for a in snap["alerts"] if a["alert_id"] == banned["alert_id"]]
    assert acked and acked[0]["acknowledged_by"] == "班长李" and acked[0]["ack_note"] == "已提醒坐席 注意用语"
    # an unknown alert gives a clear error, and the socket keeps working
    await sup1.send(json.dumps({"type": "ack", "alert_id": "nope"}))
    err = [e for e in await collect_until(sup1, "error") if e["type"] == "error"]
    assert err[-1]["code"] == "not_found"
    for ws in (sup1, sup2, late):
        await ws.close()


async def test_calls_utterances_prompts_and_alerts_are_stored_masked(live_server: LiveServer) -> None:
    events = await replay(live_server.url, "call-store", sample_lines("noise-complaint.jsonl"))
    finals = [e for e in events if e["type"] == "transcript" and e["final"] and e["text"]]
    # the phone number spoken as Chinese numerals is masked everywhere, including the call socket
    assert any("138****5678" in e["text"] for e in finals)
    assert not any("幺 三 八 一 二 三 四" in e["text"] for e in events if e["type"] == "transcript")
    await asyncio.sleep(0.2)
    call = await live_server.store.get_call("call-store")
    assert len(call["utterances"]) == len(finals)
    assert call["call"]["end_reason"] == "completed"
    assert call["alerts"] and call["prompts"]
    raw = sqlite3.connect(live_server.store.path).execute("select group_concat(text) from utterances").fetchone()[0]
    assert "138****5678" in raw and "幺三八一二三四五六七八" not in raw.replace(" ", "")


async def test_audio_call_on_a_server_without_model_is_refused_clearly(live_server: LiveServer) -> None:
    async with connect(live_server.url + "/ws/call") as ws:
        await ws.send(json.dumps({"type": "start", "call_id": "c-audio", "agent_id": "a1", "sample_rate": 16000}))
        err = await recv_json(ws)
        assert err["type"] == "error" and err["code"] == "no_model" and err["fatal"]
        assert "vosk-model-small-cn-0.22" in err["message"]
    # the server goes on serving transcript calls
    events = await replay(live_server.url, "after", sample_lines("legal-dispute.jsonl")[:2])
    assert events[-1]["type"] == "ended"


async def test_an_agents_overlay_keeps_following_an_ended_crisis_call_until_the_next_call(
        live_server: LiveServer) -> None:
    """New-user trial 7: after a crisis caller hung up, the overlay lost the call on reload (the supervisor page
    kept it).  An agent subscription with no live call follows the agent's newest ended crisis call; a routine call
    that ended does not; the next live call replaces it."""
    crisis = [{"role": "agent", "start": 0.0, "end": 1.0, "text": "您好 12345"},
              {"role": "caller", "start": 1.5, "end": 4.0, "text": "我真的不想活了 药我都准备好了"}]
    events = await replay(live_server.url, "call-crisis", crisis, agent="a7")
    assert any(e["type"] == "prompt" and e["kind"] == "critical" for e in events)
    reloaded = await subscribe_snapshot(live_server.url, agent_id="a7")
    assert reloaded["following"] == "call-crisis"
    assert [a["call_id"] for a in reloaded["alerts"] if a["kind"] == "critical"] == ["call-crisis"]
    # its last state comes with it (an agent's token may not read the history API): ended, with its crisis numbers
    (last,) = reloaded["calls"]
    assert last["call_id"] == "call-crisis" and last["active"] is False and last["critical"]
    assert "12356" in last["crisis_numbers"]
    # another agent's overlay, and an agent whose last call was routine, follow nothing
    await replay(live_server.url, "call-routine", [{"role": "caller", "start": 0.0, "end": 2.0, "text": "我家停水了"}],
                 agent="a8")
    assert (await subscribe_snapshot(live_server.url, agent_id="a8"))["following"] is None
    # the next live call of the agent is the one followed
    async with connect(live_server.url + "/ws/call") as ws:
        await ws.send(json.dumps({"type": "start", "call_id": "call-next", "agent_id": "a7", "sample_rate": 16000,
                                  "channels": 2, "roles": ["agent", "caller"], "source": "transcript", "speed": 1}))
        assert (await recv_json(ws))["type"] == "ready"
        assert (await subscribe_snapshot(live_server.url, agent_id="a7"))["following"] == "call-next"
        await ws.send(json.dumps({"type": "end"}))
        while (await recv_json(ws))["type"] != "ended":
            pass
    # ... and once it has ended (a routine call), the older crisis does not come back (the review of stop 19)
    assert (await subscribe_snapshot(live_server.url, agent_id="a7"))["following"] is None
    # a supervisor's acknowledgement of the crisis ends the follow-up too
    await replay(live_server.url, "call-crisis-2", crisis, agent="a7")
    assert (await subscribe_snapshot(live_server.url, agent_id="a7"))["following"] == "call-crisis-2"
    sup = await subscribe(live_server.url, all=True)
    snap_alerts = (await subscribe_snapshot(live_server.url, all=True))["alerts"]
    alert = next(a for a in snap_alerts if a["call_id"] == "call-crisis-2" and a["kind"] == "critical")
    await sup.send(json.dumps({"type": "ack", "alert_id": alert["alert_id"], "by": "班长李"}))
    await collect_until(sup, "alert_ack")
    assert (await subscribe_snapshot(live_server.url, agent_id="a7"))["following"] is None
    await sup.close()


async def subscribe_snapshot(url: str, **what: Any) -> dict[str, Any]:
    async with connect(url + "/ws/subscribe") as ws:
        await ws.send(json.dumps({"type": "subscribe", **what}))
        first = await recv_json(ws)
    assert first["type"] == "subscribed"
    return first
