"""Fixtures of the audio tests: synthetic signals, fake model directories and archives, a local HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.model_files import FileServer, make_model_dir


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    state = FileServer(base_url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            if self.path in state.truncate:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def model_builder(tmp_path: Path) -> Callable[..., Path]:
    """``model_builder(name, **kw)``: a fake model directory under tmp_path/src."""

    def build(name: str, **kw: object) -> Path:
        return make_model_dir(tmp_path / "src" / name, **kw)  # type: ignore[arg-type]

    return build
