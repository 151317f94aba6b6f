"""Logging: JSON lines, whitelisted fields, and no personal numbers or credentials."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from assist.logs import LogMasker, NotPersonal, configure_logging, mask_digit_runs, mask_secrets


@pytest.fixture
def capture() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", json_lines=True, stream=stream)
    yield stream, logging.getLogger("assist.test")
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_whitelisted_fields_only(capture: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = capture
    log.info(
        "call %s ended", "c-1",
        extra={"call_id": "c-1", "agent_id": "A1001", "code": "bad_json", "duration": 12.345678,
               "text": "我要投诉你们", "caller_name": "张三"},
    )
    (entry,) = _lines(stream)
    assert entry["level"] == "INFO" and entry["logger"] == "assist.test" and entry["msg"] == "call c-1 ended"
    assert str(entry["ts"]).endswith("Z")
    assert entry["call_id"] == "c-1" and entry["agent_id"] == "A1001" and entry["code"] == "bad_json"
    assert entry["duration"] == 12.3457
    assert "text" not in entry and "caller_name" not in entry
    assert "我要投诉你们" not in stream.getvalue() and "张三" not in stream.getvalue()


def test_personal_numbers_are_masked_in_messages_args_fields_and_tracebacks(
    capture: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, log = capture
    log.warning("caller gave %s and card %s", "13812345678", "6222021234567890128", extra={"call_id": "13912345678"})
    log.info("spoken: 幺三八一二三四五六七八, landline 010-62345678")
    try:
        raise ValueError("bad id 110101199003074514")
    except ValueError:
        log.exception("failed")
    out = stream.getvalue()
    for secret in ("13812345678", "6222021234567890128", "13912345678", "62345678", "110101199003074514",
                   "幺三八一二三四五六七八"):
        assert secret not in out, secret
    entries = _lines(stream)
    assert "5678" in str(entries[0]["msg"])  # last digits kept for support work
    assert "Traceback" in str(entries[2]["exc"]) and "4514" in str(entries[2]["exc"])


def test_credentials_are_masked(capture: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = capture
    token = "assist_" + "Q" * 43
    ticket = "v1.eyJyIjoiYWdlbnQiLCJzIjoiQTEifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2ln"
    log.info("GET /ws/call?ticket=%s&x=1", ticket)
    log.info("Authorization: Bearer %s", token)
    log.info("pasted %s and %s", token, ticket)
    out = stream.getvalue()
    assert token not in out and ticket not in out and "Q" * 20 not in out
    assert "ticket=[redacted]" in out and "Bearer [redacted]" in out


def test_text_format_appends_fields() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handler = configure_logging("INFO", json_lines=False, stream=stream)
    try:
        logging.getLogger("assist.t").info("hello 13812345678", extra={"call_id": "c9", "code": "internal"})
        logging.getLogger("assist.t").debug("not shown")
    finally:
        root.removeHandler(handler)
    line = stream.getvalue().strip()
    assert line.endswith("call_id=c9 code=internal") and "INFO assist.t: hello" in line
    assert "13812345678" not in line and "not shown" not in line


def test_configure_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    first = configure_logging("INFO", stream=io.StringIO())
    second = configure_logging("INFO", json_lines=True, stream=io.StringIO())
    try:
        assert first not in root.handlers and second in root.handlers
        assert len(root.handlers) == before + 1
    finally:
        root.removeHandler(second)


def test_bad_format_arguments_do_not_break_logging(capture: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = capture
    log.info("two %s %s", "13812345678")
    (entry,) = _lines(stream)
    assert "13812345678" not in str(entry["msg"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ports 8765 and pid 123456", "ports 8765 and pid 123456"),
        ("call 1234567", "call ***4567"),
        ("acct 6217-0000-1111-2222", "acct ************2222"),
        ("c-20240501000123 ok", "c-**********0123 ok"),
        ("ts 12.5 s", "ts 12.5 s"),
    ],
)
def test_digit_masker(text: str, expected: str) -> None:
    assert mask_digit_runs(text) == expected


def test_masker_layers() -> None:
    masker = LogMasker()
    assert masker.mask_text("fine text 12345") == "fine text 12345"
    assert "13812345678" not in masker.mask_text("手机 138 1234 5678")
    assert mask_secrets("token=abc&ticket=def") == "token=[redacted]&ticket=[redacted]"


def test_a_not_personal_argument_is_logged_as_is_and_the_rest_is_still_masked(
    capture: tuple[io.StringIO, logging.Logger],
) -> None:
    """Trial 4 #15: the model version 20261206-d41c3bc8 was logged as ****1206-d41c3bc8.  Marked NotPersonal
    it is written as is; a phone or ID number in the same message (not marked) is masked as before."""
    stream, log = capture
    log.info("analysis: %s; caller %s, id %s", NotPersonal("learned analysis model 20261206-d41c3bc8"),
             "13812345678", "110101199003074514")
    log.info("model %s", "20261206-d41c3bc8")  # not marked: the digit rule applies as before
    first, second = (str(e["msg"]) for e in _lines(stream))
    assert "learned analysis model 20261206-d41c3bc8" in first
    assert "13812345678" not in first and "110101199003074514" not in first and "5678" in first
    assert second == "model ****1206-d41c3bc8"


def test_the_startup_log_names_the_shipped_model_version_unmasked(
    capture: tuple[io.StringIO, logging.Logger],
) -> None:
    from assist.app import load_analyzer
    from assist.nlp.learned import DEFAULT_MODEL_DIR, MODEL_FILE
    from assist.settings import ServerConfig

    version = json.loads((DEFAULT_MODEL_DIR / MODEL_FILE).read_text(encoding="utf-8"))["version"]
    stream, _ = capture
    assert load_analyzer(ServerConfig()) is not None
    line = next(str(e["msg"]) for e in _lines(stream) if str(e["msg"]).startswith("analysis: "))
    assert f"learned analysis model {version}" in line and "*" not in line
