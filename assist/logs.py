"""Logging setup: plain text or JSON lines, with no personal data and no secrets.

``configure_logging(level, json_lines)`` installs one handler on the root
logger.  Every record goes through a ``RedactionFilter`` that masks, in the
message, its arguments, whitelisted fields and tracebacks:

* personal numbers (``assist.store.privacy.Redactor``: ID cards, mobiles, bank
  cards, also as spoken numerals);
* any other run of 7 or more digits (landlines, account numbers ...): all but
  the last 4 digits;
* credentials: ``Bearer …``, ``ticket=…``, ``assist_…`` tokens.

An argument the code marks as ``NotPersonal`` (a model version such as ``20261206-d41c3bc8``, which
the digit rule would mask as ``****1206-d41c3bc8``) is written as is; the rest of the message is still
masked.  Only code marks values so, and never a value that came from a call.

Only whitelisted structured fields (``FIELDS``) passed with ``extra=`` are
written; anything else (a transcript someone put in ``extra``) is dropped.  The
rule for code remains: never log transcript text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from assist.store.privacy import Redactor

FIELDS: tuple[str, ...] = (
    "call_id", "agent_id", "utterance_id", "token_id", "subscriber", "role", "mode", "event",
    "code", "reason", "status", "close_code", "duration", "audio_seconds", "rtf", "latency",
    "queue", "dropped", "count", "channels", "sample_rate", "encoding",
)
_HANDLER_MARK = "_assist_handler"

_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9]){6,}(?![0-9])")
_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(ticket|token)=[^\s&\"']+"), r"\1=[redacted]"),
    (re.compile(r"\bassist_[A-Za-z0-9_\-]{16,}"), "assist_[redacted]"),
    (re.compile(r"\bv1\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"), "[ticket redacted]"),
)


class NotPersonal(str):
    """A log argument known to hold no personal data (a model version, a file digest): not masked.
    Mark only values of the program's own (never words or numbers from a call)."""

    __slots__ = ()


_KEEP = "\x00keep{}\x00"  # stands for a NotPersonal argument while the message is masked


class TextMasker(Protocol):
    def mask_text(self, text: str) -> str: ...


def mask_digit_runs(text: str) -> str:
    """Mask every run of 7+ digits (spaces/dashes allowed inside) but its last 4 digits."""

    def repl(m: re.Match[str]) -> str:
        digits = [c for c in m.group() if c.isdigit()]
        return "*" * (len(digits) - 4) + "".join(digits[-4:])

    return _LONG_DIGITS.sub(repl, text)


def mask_secrets(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class LogMasker:
    """Secrets, then personal numbers (``personal``), then any long digit run."""

    def __init__(self, personal: TextMasker | None = None) -> None:
        self._personal = personal if personal is not None else Redactor()

    def mask_text(self, text: str) -> str:
        return mask_digit_runs(self._personal.mask_text(mask_secrets(text)))


class RedactionFilter(logging.Filter):
    """Masks a record's message (arguments merged in), string fields and traceback text."""

    def __init__(self, masker: TextMasker) -> None:
        super().__init__()
        self._masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        kept: list[str] = []
        if isinstance(record.args, tuple) and any(isinstance(a, NotPersonal) for a in record.args):
            args: list[object] = []
            for a in record.args:
                if isinstance(a, NotPersonal):
                    args.append(_KEEP.format(len(kept)))
                    kept.append(str(a))
                else:
                    args.append(a)
            record.args = tuple(args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format
            message = f"{record.msg!s} {record.args!r}"
        message = self._masker.mask_text(message)
        for i, verbatim in enumerate(kept):
            message = message.replace(_KEEP.format(i), verbatim, 1)
        record.msg = message
        record.args = None
        for name in FIELDS:
            value = record.__dict__.get(name)
            if isinstance(value, str):
                setattr(record, name, self._masker.mask_text(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._masker.mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = self._masker.mask_text(record.stack_info)
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FIELDS:
        if name in record.__dict__:
            value = record.__dict__[name]
            if isinstance(value, float):
                value = round(value, 4)
            elif value is not None and not isinstance(value, (str, int, bool)):
                value = str(value)
            out[name] = value
    return out


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, whitelisted fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2025-01-01 12:00:00,000 INFO assist.web.server: message call_id=c1 code=bad_json``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _fields(record)
        if not fields:
            return line
        head, sep, tail = line.partition("\n")
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{head} {extra}{sep}{tail}"


def configure_logging(
    level: str | int = "INFO",
    json_lines: bool = False,
    *,
    stream: TextIO | None = None,
    masker: TextMasker | None = None,
) -> logging.Handler:
    """Route all logging to ``stream`` (stderr) through the redaction filter; returns the handler.

    Calling it again replaces the handler it installed before (not others').
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLinesFormatter() if json_lines else TextFormatter())
    handler.addFilter(RedactionFilter(masker if masker is not None else LogMasker()))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler

