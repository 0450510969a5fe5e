"""Security headers on every response: no framing, no MIME sniffing, no referrer, and a
Content-Security-Policy under which Gradio's UI still works.

Scripts: only the app's own files and the inline scripts of the page itself, each given a fresh
nonce per page (Gradio's page carries its config in inline scripts), so an injected ``<script>`` or
``onerror=`` attribute does not run. ``'unsafe-eval'`` stays: Gradio's ``gr.HTML`` renders its
template with ``new Function`` (the Compare tab's result). Styles may be inline (Svelte sets style
attributes). Nothing is loaded from another site (Gradio's web fonts fall
back to the system's). ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` say the same to new
and old browsers.
"""

from __future__ import annotations

import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from assistant.web.asgi import HttpMiddleware
from assistant.web.html import edit_html

__all__ = ["SecurityHeaders", "content_security_policy"]

_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)(?=[\s>])", re.IGNORECASE)

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), payment=(), usb=()",
}


def content_security_policy(nonce: str | None = None) -> str:
    scripts = "'self' 'unsafe-eval'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders(HttpMiddleware):
    """ASGI middleware: the headers above on every HTTP response, a nonce on each page's scripts."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        nonce = secrets.token_urlsafe(18)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                html = headers.get("content-type", "").startswith("text/html")
                headers["Content-Security-Policy"] = content_security_policy(nonce if html else None)
            await send(message)

        def add_nonce(page: str) -> str:
            return _SCRIPT_TAG.sub(f'<script nonce="{nonce}"', page)

        await self.app(scope, receive, edit_html(with_headers, add_nonce))
