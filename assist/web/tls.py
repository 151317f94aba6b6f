"""TLS for the server: ``--cert``/``--key`` → an ``ssl.SSLContext`` for ``websockets.serve(ssl=...)``."""

from __future__ import annotations

import ssl
from pathlib import Path


class TlsError(ValueError):
    """The certificate or key cannot be used; the message says which file and why."""


def server_context(cert: Path, key: Path | None = None) -> ssl.SSLContext:
    """A server context with TLS 1.2 or newer; ``key`` may be omitted when ``cert`` holds both (PEM)."""
    for label, path in (("certificate", cert), ("key", key)):
        if path is not None and not path.is_file():
            raise TlsError(f"TLS {label} {path} does not exist")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise TlsError(f"TLS certificate {cert} / key {key}: {exc.reason or exc}") from None
    return context
