"""A server run as a child process: its stderr read line by line, and the port it says it listens on."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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


def terminate(proc: subprocess.Popen[str], timeout: float = 20.0) -> int:
    """SIGTERM, as a service manager stops the server; its exit code (within ``timeout`` seconds)."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout)


@contextmanager
def reaped(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """``proc``, killed on the way out if it is still running (a failed test leaves no server behind)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
