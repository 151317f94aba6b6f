"""Metrics: per-instance registries and a /metrics body that is valid Prometheus text."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from assist.live.metrics import CONTENT_TYPE, Metrics
from assist.protocol.errors import ErrorCode

SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
    r"(-?[0-9.e+\-]+|NaN|\+Inf|-Inf)$"
)


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_render_is_prometheus_text_format() -> None:
    m = Metrics()
    m.call_started("live")
    m.decoded(audio_seconds=2.0, decode_seconds=0.5)
    m.transcript_latency(0.4)
    m.error(ErrorCode.BAD_JSON)
    body = m.render()
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    lines = body.decode("utf-8").splitlines()
    typed: dict[str, str] = {}
    for line in lines:
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}
            typed[name] = kind
            continue
        assert SAMPLE.match(line), line
        name = line.split("{")[0].split(" ")[0]
        assert any(name == t or name.startswith(t + "_") for t in typed), f"{name} has no TYPE line"
    for name, kind in {
        "assist_calls_active": "gauge", "assist_calls_total": "counter", "assist_channels_active": "gauge",
        "assist_audio_seconds_total": "counter", "assist_decode_seconds_total": "counter",
        "assist_decode_rtf": "histogram", "assist_queue_drops_total": "counter",
        "assist_errors_total": "counter", "assist_transcript_latency_seconds": "histogram",
        "assist_prompt_latency_seconds": "histogram", "assist_subscribers_active": "gauge",
    }.items():
        assert typed.get(name) == kind, name
    assert not any("_created" in line for line in lines)
    assert list(text_string_to_metric_families(body.decode("utf-8")))


def test_recorded_values_come_out() -> None:
    m = Metrics(process=False)
    m.call_started("live")
    m.call_started("training")
    m.call_ended("live", "completed")
    m.call_ended("training", "made-up reason")
    m.audio_received("caller", 1.5)
    m.audio_received("caller", 0.5)
    m.decoded(audio_seconds=2.0, decode_seconds=0.5)
    m.queue_dropped("subscriber", 3)
    m.error(ErrorCode.RATE_LIMITED)
    m.prompt_latency(0.2)
    m.auth_failed(401)
    channels = [3]
    m.track(channels=lambda: channels[0], subscribers=lambda: 7)
    s = _samples(m.render())
    assert s[("assist_calls_active", (("mode", "live"),))] == 0
    assert s[("assist_calls_total", (("mode", "live"), ("reason", "completed")))] == 1
    assert s[("assist_calls_total", (("mode", "training"), ("reason", "other")))] == 1
    assert s[("assist_audio_seconds_total", (("role", "caller"),))] == 2.0
    assert s[("assist_decode_seconds_total", ())] == 0.5
    assert s[("assist_decode_rtf_sum", ())] == 0.25
    assert s[("assist_decode_rtf_bucket", (("le", "0.3"),))] == 1
    assert s[("assist_decode_rtf_bucket", (("le", "0.2"),))] == 0
    assert s[("assist_queue_drops_total", (("queue", "subscriber"),))] == 3
    assert s[("assist_errors_total", (("code", "rate_limited"),))] == 1
    assert s[("assist_errors_total", (("code", "bad_json"),))] == 0  # every code is present from the start
    assert s[("assist_prompt_latency_seconds_count", ())] == 1
    assert s[("assist_auth_failures_total", (("status", "401"),))] == 1
    assert s[("assist_channels_active", ())] == 3
    channels[0] = 5
    assert _samples(m.render())[("assist_channels_active", ())] == 5
    assert s[("assist_subscribers_active", ())] == 7


def test_two_servers_do_not_share_metrics() -> None:
    a, b = Metrics(process=False), Metrics(process=False)
    a.error(ErrorCode.INTERNAL)
    assert _samples(a.render())[("assist_errors_total", (("code", "internal"),))] == 1
    assert _samples(b.render())[("assist_errors_total", (("code", "internal"),))] == 0


def test_process_metrics_for_soak_runs() -> None:
    s = _samples(Metrics().render())
    assert s[("process_resident_memory_bytes", ())] > 0
    assert s[("process_open_fds", ())] > 0
