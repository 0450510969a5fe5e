"""A plain HTTP proxy that counts POST requests in flight: what an OpenAI-compatible server sees at once.

    with CountingProxy("http://127.0.0.1:PORT", hold_until=6, hold_max_s=10) as proxy:
        ...  # point a backbone at proxy.base_url (.../v1)
        proxy.max_in_flight  # the most POSTs that were between arriving and being answered

Each request is forwarded to the upstream server as it came (method, path, body, headers) and its
answer passed back; one thread per request (``ThreadingHTTPServer``), so concurrent callers stay
concurrent up to the upstream, which may still answer one at a time. ``hold_until``: a POST waits
(at most ``hold_max_s``) until that many are in flight before it is forwarded, so how many a caller
keeps in flight is seen whatever the upstream's speed: a caller that sends one at a time still
gets answers, each after ``hold_max_s``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

import httpx

from tests.helpers.local_http import LocalHTTPServer, QuietHandler

__all__ = ["CountingProxy"]

_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


class CountingProxy(LocalHTTPServer):
    def __init__(
        self, upstream: str, *, hold_until: int = 0, hold_max_s: float = 0.0, timeout_s: float = 300.0
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold_until = hold_until
        self.hold_max_s = hold_max_s
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self._lock = threading.Condition()
        self._client = httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_connections=64))
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.requests += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._lock.notify_all()
            self._lock.wait_for(lambda: self.in_flight >= self.hold_until, timeout=self.hold_max_s)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                counted = self.command == "POST"
                if counted:
                    proxy._enter()
                try:
                    answer = proxy._client.request(
                        self.command, proxy.upstream + self.path, content=body, headers=headers
                    )
                finally:
                    if counted:
                        proxy._leave()
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP and key.lower() != "content-encoding":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

        return Handler

    def stop(self) -> None:
        super().stop()
        self._client.close()
