"""A server run as a child process: its stderr read line by line, and the port it says it listens on."""

from __future__ import annotations

import queue
import re
import subprocess
import threading

import pytest

LISTENING = re.compile(r"listening on ws://127\.0\.0\.1:(\d+)")


class StderrLines:
    """The lines ``proc`` writes to stderr, put in ``lines`` by a daemon thread as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        stderr = proc.stderr
        if stderr is None:
            raise ValueError("start the process with stderr=subprocess.PIPE")
        threading.Thread(target=lambda: [self.lines.put(line) for line in stderr], daemon=True).start()

    def listening_port(self, what: str, timeout: float) -> int:
        """The port of the first ``listening on`` line; the test fails, naming ``what`` and showing what the
        process wrote, when no line comes for ``timeout`` seconds."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"{what} did not start: " + "".join(self.seen))
            self.seen.append(line)
            found = LISTENING.search(line)
            if found:
                return int(found.group(1))
