"""Bad input is normal input: a clear error, the right close code, and other calls go on untouched.

Every test first starts a good call, sends the bad input on another socket
(or on the good call itself for the non-fatal cases), then checks the good
call still completes with its full transcript.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from assist.protocol.errors import CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_TRY_AGAIN, CLOSE_UNSUPPORTED_DATA
from assist.web.server import AssistServer
from bench.callclient import CallResult, collect
from tests.support.scripted_server import SCRIPT_A, TEXTS_A, MakeServer, pcm, start_msg

LIMIT = 8192  # max_frame_bytes of the servers in this module


@pytest.fixture
def make(make_server: MakeServer) -> MakeServer:
    """Servers whose every call says script A, so any good call has a known transcript."""

    async def build(**overrides: Any) -> AssistServer:
        return await make_server(scripts=(SCRIPT_A,), **overrides)

    return build


class GoodCall:
    """A call that is under way (started, half its audio sent) while something bad happens elsewhere."""

    def __init__(self, server: AssistServer, call_id: str = "good") -> None:
        self.url = server.url + "/ws/call"
        self.call_id = call_id
        self.audio = pcm()
        self.ws: ClientConnection | None = None
        self.result = CallResult()
        self._reader: asyncio.Task[None] | None = None

    async def begin(self) -> None:
        self.ws = await connect(self.url)
        await self.ws.send(json.dumps(start_msg(self.call_id)))
        self._reader = asyncio.create_task(collect(self.ws, self.result))
        half = len(self.audio) // 2
        for i in range(0, half, 3200):
            await self.ws.send(self.audio[i : min(i + 3200, half)])

    async def complete(self) -> CallResult:
        assert self.ws is not None and self._reader is not None
        half = len(self.audio) // 2
        for i in range(half, len(self.audio), 3200):
            await self.ws.send(self.audio[i : i + 3200])
        await self.ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(self._reader, 10)
        return self.result

    async def assert_completes(self) -> CallResult:
        result = await self.complete()
        assert result.final_texts() == TEXTS_A
        assert result.ended is not None and result.ended["summary"]["reason"] == "completed"
        assert result.close_code == CLOSE_NORMAL
        return result


async def exchange(server: AssistServer, *messages: Any, text_bytes: bool = False) -> CallResult:
    """Open a second call socket, send ``messages`` and collect the answer until it is closed."""
    result = CallResult()
    async with connect(server.url + "/ws/call", max_size=None) as ws:
        for message in messages:
            if isinstance(message, dict):
                message = json.dumps(message)
            await ws.send(message, text=True if text_bytes else None)
        await asyncio.wait_for(collect(ws, result), 10)
    return result


def only_error(result: CallResult) -> dict[str, Any]:
    assert [r.event["type"] for r in result.events] == ["error"], result.events
    return result.errors[0]


BAD_OPENINGS = [
    pytest.param({"type": "start", "call_id": "x"}, "bad_message", CLOSE_POLICY, id="start-missing-fields"),
    pytest.param({**start_msg("x"), "colour": "red"}, "bad_message", CLOSE_POLICY, id="start-unknown-field"),
    pytest.param(b"\x01\x02\x03\x04", "not_started", CLOSE_POLICY, id="audio-before-start"),
    pytest.param({"type": "end"}, "not_started", CLOSE_POLICY, id="end-before-start"),
    pytest.param({"type": "subscribe", "all": True}, "bad_message", CLOSE_POLICY, id="not-a-start"),
    pytest.param(start_msg("x", rate=4000), "unsupported_rate", CLOSE_UNSUPPORTED_DATA, id="rate"),
    pytest.param(start_msg("x", encoding="opus"), "unsupported_encoding", CLOSE_UNSUPPORTED_DATA, id="encoding"),
    pytest.param(start_msg("x", channels=3), "bad_channels", CLOSE_UNSUPPORTED_DATA, id="channels"),
    pytest.param(start_msg("x", channels=2, roles=["agent", "agent"]), "bad_channels", CLOSE_UNSUPPORTED_DATA,
                 id="roles"),
    pytest.param("hello, server", "bad_json", CLOSE_POLICY, id="text-garbage"),
    pytest.param("[1, 2, 3]", "bad_message", CLOSE_POLICY, id="json-not-an-object"),
    pytest.param('{"type": 7}', "bad_message", CLOSE_POLICY, id="type-not-a-string"),
    pytest.param("x" * (LIMIT + 1), "frame_too_large", CLOSE_TOO_BIG, id="text-too-large"),
    pytest.param(b"\x00" * (LIMIT + 2), "frame_too_large", CLOSE_TOO_BIG, id="binary-too-large"),
]


@pytest.mark.parametrize(("message", "code", "close_code"), BAD_OPENINGS)
async def test_bad_opening_is_refused_and_other_calls_go_on(
    make: MakeServer, message: Any, code: str, close_code: int
) -> None:
    server = await make(max_frame_bytes=LIMIT)
    good = GoodCall(server)
    await good.begin()
    bad = await exchange(server, message)
    error = only_error(bad)
    assert error["code"] == code and error["fatal"] is True and error["message"]
    assert bad.close_code == close_code
    await good.assert_completes()
    assert len(server.registry) == 0


async def test_invalid_utf8_text_fails_only_that_connection_with_1007(make: MakeServer) -> None:
    # RFC 6455 section 8.1: a text message that is not UTF-8 fails the connection with 1007 (invalid data)
    server = await make()
    good = GoodCall(server)
    await good.begin()
    bad = await exchange(server, b'{"type": "start", "call_id": "\xff\xfe"}', text_bytes=True)
    assert bad.events == [] and bad.close_code == 1007
    await good.assert_completes()


async def test_message_beyond_the_websocket_limit_is_cut_off_without_harm(make: MakeServer) -> None:
    server = await make(max_frame_bytes=LIMIT)
    good = GoodCall(server)
    await good.begin()
    bad = await exchange(server, b"\x00" * (server.config.websocket_max_size + 1))
    assert bad.close_code == CLOSE_TOO_BIG  # closed by the websocket layer itself
    await good.assert_completes()


async def test_same_call_id_while_live_is_refused(make: MakeServer) -> None:
    server = await make()
    good = GoodCall(server, "dup")
    await good.begin()
    bad = await exchange(server, start_msg("dup"))
    error = only_error(bad)
    assert error["code"] == "call_in_progress" and error["call_id"] == "dup"
    assert bad.close_code == CLOSE_POLICY
    await good.assert_completes()
    # once the first call is over, its id is closed for good: an ended call is never reopened
    again = await exchange(server, start_msg("dup"), pcm(0.5), {"type": "end"})
    assert only_error(again)["code"] == "call_ended" and again.close_code == CLOSE_POLICY


async def test_too_many_calls_is_try_again_later(make: MakeServer) -> None:
    server = await make(max_calls=1)
    good = GoodCall(server)
    await good.begin()
    bad = await exchange(server, start_msg("second"))
    assert only_error(bad)["code"] == "too_many_calls"
    assert bad.close_code == CLOSE_TRY_AGAIN
    await good.assert_completes()


async def test_no_start_in_time(make: MakeServer) -> None:
    server = await make(start_timeout_seconds=0.3)
    good = GoodCall(server)
    await good.begin()
    bad = await exchange(server)
    assert only_error(bad)["code"] == "not_started"
    assert bad.close_code == CLOSE_POLICY
    await good.assert_completes()


NON_FATAL = [
    pytest.param("garbage", "bad_json", id="text-garbage"),
    pytest.param("42", "bad_message", id="json-not-an-object"),
    pytest.param({"type": "mark", "label": "x"}, "bad_message", id="unknown-type"),
    pytest.param({"type": "subscribe", "all": True}, "bad_message", id="subscriber-message"),
    pytest.param(start_msg("other"), "already_started", id="second-start"),
]


@pytest.mark.parametrize(("message", "code"), NON_FATAL)
async def test_bad_message_mid_call_is_reported_and_the_call_goes_on(
    make: MakeServer, message: Any, code: str
) -> None:
    server = await make()
    other = GoodCall(server, "other-call")
    await other.begin()
    victim = GoodCall(server, "victim")
    await victim.begin()
    assert victim.ws is not None
    await victim.ws.send(message if isinstance(message, str) else json.dumps(message))
    result = await victim.assert_completes()
    assert [(e["code"], e["fatal"], e["call_id"]) for e in result.errors] == [(code, False, "victim")]
    await other.assert_completes()


async def test_oversized_frame_mid_call_ends_it_with_1009_but_keeps_its_transcript(make: MakeServer) -> None:
    server = await make(max_frame_bytes=LIMIT)
    other = GoodCall(server, "other-call")
    await other.begin()
    result = CallResult()
    async with connect(server.url + "/ws/call", max_size=None) as ws:
        await ws.send(json.dumps(start_msg("big")))
        audio = pcm(1.5)  # the first utterance (0.2-1.0 s) is complete; its final is due at 1.3 s
        for i in range(0, len(audio), 3200):
            await ws.send(audio[i : i + 3200])
        await ws.send(b"\x00" * (LIMIT + 2))
        await asyncio.wait_for(collect(ws, result), 10)
    assert result.close_code == CLOSE_TOO_BIG
    assert [(e["code"], e["fatal"]) for e in result.errors] == [("frame_too_large", True)]
    assert result.final_texts() == ["hello there"]
    assert result.ended is not None and result.ended["summary"]["reason"] == "error"
    assert [r.event["type"] for r in result.events][-1] == "ended"
    await other.assert_completes()
