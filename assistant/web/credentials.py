"""Replies that carry a login are kept to the browser that asked, and not cached.

- Gradio's session cookies (``access-token-*``, set at ``/login``) are sent ``SameSite=None``, so a
  browser attaches them to requests any other site makes. ``CredentialReplies`` rewrites them to
  ``HttpOnly; SameSite=Lax`` (never readable by script, not sent on another site's requests except a
  top-level link to the app), and ``Secure`` when the request came over HTTPS (or a trusted proxy says
  so with ``X-Forwarded-Proto``). ``Lax``, not ``Strict``: with ``Strict`` a person who follows a link
  to the app from another site (a mail, a chat) would see the login page though logged in.
- JSON and event-stream replies (handlers' results, a new API key among them, ``/login``,
  ``/v1``) get ``Cache-Control: no-store`` unless the app set a cache rule of its own.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from assistant.web.asgi import HttpMiddleware

__all__ = ["SESSION_COOKIE_PREFIX", "CredentialReplies", "harden_cookie"]

SESSION_COOKIE_PREFIX = "access-token-"
_DROPPED = ("samesite", "secure", "httponly")
_NOT_CACHED = ("application/json", "text/event-stream")


def harden_cookie(set_cookie: str, *, secure: bool) -> str:
    """A ``Set-Cookie`` value with its SameSite/Secure/HttpOnly replaced by the rules above."""
    parts = [p.strip() for p in set_cookie.split(";")]
    kept = [parts[0]] + [p for p in parts[1:] if p and p.split("=", 1)[0].strip().lower() not in _DROPPED]
    kept += ["HttpOnly", "SameSite=Lax"] + (["Secure"] if secure else [])
    return "; ".join(kept)


class CredentialReplies(HttpMiddleware):
    """ASGI middleware: session cookies hardened, JSON and event streams not cached."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        secure = scope.get("scheme") == "https"

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                out: list[tuple[bytes, bytes]] = []
                for key, value in raw:
                    if key.lower() == b"set-cookie":
                        text = value.decode("latin-1")
                        if text.lstrip().startswith(SESSION_COOKIE_PREFIX):
                            value = harden_cookie(text, secure=secure).encode("latin-1")
                    out.append((key, value))
                message["headers"] = out
                headers = MutableHeaders(scope=message)
                kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if kind in _NOT_CACHED and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_hardened)
