"""Plain HTTP on the websocket port: the overlay and dashboard pages, their files, and the history API.

Pages: ``/`` (operator overlay), ``/supervisor``, ``/history``; their files under
``/static/NAME`` (only files directly in the client folder and its ``vendor/``).
API (JSON): ``/api/calls`` (search), ``/api/calls/ID`` (one call),
``/api/calls/ID/report`` (its training report).  The server authenticates
``/api/*`` (supervisors) before routing here; the pages carry no data and are open.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from websockets.http11 import Response

from assist.web.http import error_response as _error
from assist.web.http import json_response, response

if TYPE_CHECKING:
    from assist.store.base import CallStore as Store  # either backend (assist.store.open)

log = logging.getLogger(__name__)

PAGES: dict[str, str] = {"/": "overlay.html", "/supervisor": "supervisor.html", "/history": "history.html"}
CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
MAX_STATIC_BYTES = 4 * 1024 * 1024

# Demo mode (``assist serve --demo``): every page carries this badge, so nobody takes a replay for a real call.
DEMO_BADGE = ('<div class="demo-badge" data-testid="demo-badge" role="note" '
              'title="演示模式：示例通话循环回放，并非真实来电">演示</div>')
_BODY_TAG = re.compile(r"<body[^>]*>")

ReportBuilder = Callable[["Store", str], Awaitable[dict[str, Any]]]


def default_static_dir() -> Path:
    """The pages shipped as package data: ``assist/web/static`` (installed or in a checkout alike)."""
    return Path(str(resources.files("assist.web").joinpath("static")))


def with_demo_badge(page: Response) -> Response:
    """``page`` (HTML) with the 演示 badge right after its ``<body>`` tag."""
    text = page.body.decode("utf-8", errors="replace")
    match = _BODY_TAG.search(text)
    if match is None:
        return page
    body = (text[: match.end()] + "\n" + DEMO_BADGE + text[match.end():]).encode()
    return response(page.status_code, body, page.headers["Content-Type"])


class HttpRoutes:
    """The pages, their files and the history API; the server's route table calls these."""

    def __init__(
        self,
        static_dir: Path | None,
        store: Store | None = None,
        report_builder: ReportBuilder | None = None,
        *,
        demo: bool = False,
    ) -> None:
        self.static_dir = (static_dir or default_static_dir()).resolve()
        self.store = store
        self.report_builder = report_builder
        self.demo = demo
        self._files: dict[str, Path] = {}
        if self.static_dir.is_dir():
            for sub in (self.static_dir, self.static_dir / "vendor"):
                if sub.is_dir():
                    for f in sub.iterdir():
                        if f.is_file() and f.suffix in CONTENT_TYPES:
                            self._files[str(f.relative_to(self.static_dir)).replace("\\", "/")] = f
        else:
            log.warning("no client files at %s: the overlay and dashboard pages are not served", self.static_dir)

    def page(self, path: str) -> Response:
        """One of ``PAGES`` (``path`` is the canonical path, see ``assist.web.paths``)."""
        page = self._file(PAGES[path])
        return with_demo_badge(page) if self.demo and page.status_code == 200 else page

    def static(self, path: str) -> Response:
        """``/static/NAME``: a file of the client folder."""
        return self._file(path[len("/static/"):], cache=True)

    async def api(self, path: str, query: str) -> Response:
        """``/api/calls...``: the history API (the server has authenticated a supervisor)."""
        params = dict(parse_qsl(query))
        params.pop("ticket", None)  # checked by the server's auth before routing
        return await self._api(path, params)

    def _file(self, name: str, *, cache: bool = False) -> Response:
        f = self._files.get(name)
        if f is None:
            return _error(404, "not_found", "no such file")
        try:
            body = f.read_bytes()[:MAX_STATIC_BYTES]
        except OSError:
            return _error(404, "not_found", "no such file")
        return response(200, body, CONTENT_TYPES[f.suffix], cache=cache)

    async def _api(self, path: str, params: dict[str, str]) -> Response:
        from assist.store.db import NotFound
        from assist.store.history import HistoryQueryError, history_call, history_query

        store = self.store
        if store is None:
            return _error(503, "no_store", "this server keeps no call history (started without a database)")
        parts = path.strip("/").split("/")  # api, calls, [ID, [report]]
        try:
            if len(parts) == 2:
                return json_response(200, await history_query(store, params))
            if len(parts) == 3:
                return json_response(200, await history_call(store, parts[2]))
            if len(parts) == 4 and parts[3] == "report":
                if self.report_builder is None:
                    return _error(404, "not_found", "training reports are not available on this server")
                return json_response(200, await self.report_builder(store, parts[2]))
        except HistoryQueryError as exc:
            return _error(400, "bad_query", str(exc))
        except NotFound:
            return _error(404, "not_found", f"no call {parts[2]!r}")
        return _error(404, "not_found", "no such API path")
