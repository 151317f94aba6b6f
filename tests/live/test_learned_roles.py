"""The learned path runs the caller's heads for every channel that carries the caller's words (caller and
mono/mixed) and the operator's banned-phrase heads on the operator's own channel; and the node name of a
cluster is unique across machines by default."""

from __future__ import annotations

import socket

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.events import Transcript
from assist.settings import ServerConfig

TEXT = "我爸突然胸口疼得厉害一直出冷汗"


def final(role: str) -> Transcript:
    return Transcript(call_id="c1", role=role, utterance_id=f"{role}-1", final=True, text=TEXT, start=0.0, end=2.0)


def test_caller_and_mono_finals_get_the_callers_heads_the_agent_channel_the_operators() -> None:
    analyzer = Analyzer.load(learned=True)
    live = LiveAssist("c1", "a1", analyzer, context_factory=CallContext)
    for role in ("caller", "mixed"):  # one mono channel: the caller speaks on it too
        got = live.learned_for(final(role))
        assert got is not None and got.result is not None and got.result.critical is not None
    agent = live.learned_for(final("agent"))
    assert agent is not None and agent.result is not None
    assert agent.result.critical is None and agent.knowledge is None  # banned-phrase heads only


def test_default_node_name_names_the_machine_not_the_bound_address() -> None:
    config = ServerConfig(host="0.0.0.0", port=8765)
    assert config.node_name == f"{socket.gethostname()}-8765"
    assert ServerConfig(node_id="n7").node_name == "n7"
