"""The host names the server answers to, against DNS rebinding.

A web page on ``evil.example`` whose name is made to point at 127.0.0.1 is, for the browser, still
``evil.example``: its requests reach the local server with ``Host: evil.example`` and, being its own
origin, pass every origin check. In single local-user mode (no login, the local admin for every caller)
``HostGuard`` therefore answers only requests addressed to a loopback name: ``localhost``,
``127.0.0.1`` (any 127.x.y.z), ``[::1]``, with any port. In login mode ``allowed_hosts`` (empty: any)
lists the names the server answers to; loopback names are always accepted, for health checks on the
machine itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.refusal import refuse

__all__ = ["HostGuard", "host_name", "is_loopback_name"]


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header, lower case, without port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def is_loopback_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostGuard:
    """ASGI middleware: 421 for a request addressed to a host name this server does not answer to."""

    def __init__(self, app: ASGIApp, *, local_mode: bool, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.local_mode = local_mode
        self.allowed = frozenset(host_name(h) for h in allowed_hosts if h.strip())

    def accepts(self, name: str) -> bool:
        if is_loopback_name(name):
            return True
        if self.local_mode:
            return False
        return not self.allowed or name in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("host", "")
        if self.accepts(host_name(header)):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        log_refused("unknown host name", host=header, path=path)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; closing now refuses the handshake
            await send({"type": "websocket.close", "code": 1008})
            return
        if self.local_mode:
            port = (scope.get("server") or ("", 0))[1]
            detail = (
                "This server runs in single-user local mode and answers only at localhost or 127.0.0.1. "
                f"Open http://127.0.0.1:{port}/ instead."
            )
        else:
            detail = (
                f"This server does not answer to the name {header!r}. Use the address your administrator "
                "gave you; an administrator can add this name to the allowed_hosts setting."
            )
        await refuse(send, path, 421, detail, code="unknown_host")
