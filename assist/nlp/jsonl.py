"""Reading JSON Lines text (the knowledge base, training examples): one JSON value a line, blanks skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator


class JsonLineError(ValueError):
    """A line of JSON Lines text is not valid JSON: ``where`` it is (``label:line``) and the decoder's error."""

    def __init__(self, where: str, error: json.JSONDecodeError) -> None:
        super().__init__(f"{where}: {error.msg}")
        self.where = where
        self.error = error


def json_lines(text: str, label: str) -> Iterator[tuple[str, object]]:
    """``(where, value)`` for every non-blank line of ``text``, ``where`` being ``label:line number``.

    Raises ``JsonLineError`` at the first line that is not JSON."""
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{label}:{lineno}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise JsonLineError(where, exc) from exc
        yield where, value
