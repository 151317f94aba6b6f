"""Stable error codes sent in ``error`` events, and the close codes that go with them."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"                      # text message is not JSON / not UTF-8
    BAD_MESSAGE = "bad_message"                # JSON, but not a valid message
    NOT_STARTED = "not_started"                # audio or 'end' before 'start'
    ALREADY_STARTED = "already_started"        # a second 'start' on one socket
    UNSUPPORTED_RATE = "unsupported_rate"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    BAD_CHANNELS = "bad_channels"
    FRAME_TOO_LARGE = "frame_too_large"
    CALL_IN_PROGRESS = "call_in_progress"      # another live socket already streams this call id
    TOO_MANY_CALLS = "too_many_calls"
    TOO_MANY_SUBSCRIBERS = "too_many_subscribers"
    CALL_TOO_LONG = "call_too_long"
    RATE_LIMITED = "rate_limited"              # audio faster than allowed for the role
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    NO_MODEL = "no_model"                      # audio call on a server started without a speech model
    INTERNAL = "internal"
    CALL_ENDED = "call_ended"                  # the call id belongs to a call that ended: it cannot be reopened
    IDLE_TIMEOUT = "idle_timeout"              # a call sent nothing for ``idle_timeout`` seconds
    LINE_TOO_LONG = "line_too_long"            # a transcript ``line`` over ``max_line_chars`` (not fatal)


# websocket close codes (RFC 6455 section 7.4.1)
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013

CLOSE_CODES: dict[ErrorCode, int] = {
    ErrorCode.BAD_JSON: CLOSE_POLICY,
    ErrorCode.BAD_MESSAGE: CLOSE_POLICY,
    ErrorCode.NOT_STARTED: CLOSE_POLICY,
    ErrorCode.ALREADY_STARTED: CLOSE_POLICY,
    ErrorCode.UNSUPPORTED_RATE: CLOSE_UNSUPPORTED_DATA,
    ErrorCode.UNSUPPORTED_ENCODING: CLOSE_UNSUPPORTED_DATA,
    ErrorCode.BAD_CHANNELS: CLOSE_UNSUPPORTED_DATA,
    ErrorCode.FRAME_TOO_LARGE: CLOSE_TOO_BIG,
    ErrorCode.CALL_IN_PROGRESS: CLOSE_POLICY,
    ErrorCode.TOO_MANY_CALLS: CLOSE_TRY_AGAIN,
    ErrorCode.TOO_MANY_SUBSCRIBERS: CLOSE_TRY_AGAIN,
    ErrorCode.CALL_TOO_LONG: CLOSE_POLICY,
    ErrorCode.RATE_LIMITED: CLOSE_POLICY,
    ErrorCode.UNAUTHORIZED: CLOSE_POLICY,
    ErrorCode.FORBIDDEN: CLOSE_POLICY,
    ErrorCode.NOT_FOUND: CLOSE_POLICY,
    ErrorCode.NO_MODEL: CLOSE_TRY_AGAIN,
    ErrorCode.INTERNAL: CLOSE_INTERNAL,
    ErrorCode.CALL_ENDED: CLOSE_POLICY,
    ErrorCode.IDLE_TIMEOUT: CLOSE_POLICY,
    ErrorCode.LINE_TOO_LONG: CLOSE_POLICY,
}


class ProtocolError(Exception):
    """A client did something the protocol does not allow.

    ``fatal`` errors end the call (the socket is closed with ``close_code``);
    others are reported and the call goes on.
    """

    def __init__(self, code: ErrorCode, message: str, *, fatal: bool = True) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.fatal = fatal

    @property
    def close_code(self) -> int:
        return CLOSE_CODES[self.code]
