"""Small HTTP servers a test runs itself: a handler served on 127.0.0.1 from a thread of the test
process (stand-ins for a model server, another origin's page, a proxy)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["LocalHTTPServer", "QuietHandler"]


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that writes nothing to the test's output, and answers with a whole body."""

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        """One whole answer: ``status``, its type and length, then ``body``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalHTTPServer:
    """``handler`` on 127.0.0.1 (at ``port``; 0: any free one), one thread per request, served from a
    daemon thread between ``start`` and ``stop`` (or for a ``with`` block)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
