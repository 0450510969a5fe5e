"""The client address of the request being handled, for code Gradio calls without the request.

Gradio calls the login check as ``auth(username, password)``: no request, so no address. This
ASGI middleware puts the address (``scope["client"]``, which uvicorn takes from X-Forwarded-For
only for the proxies it trusts, FORWARDED_ALLOW_IPS) in a context variable for the request's task.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import Receive, Scope, Send

from assistant.web.asgi import HttpMiddleware

__all__ = ["ClientAddress", "current_address"]

_ADDRESS: ContextVar[str | None] = ContextVar("align_client_address", default=None)


def current_address() -> str | None:
    """The address of the client whose request is being handled here, or None (not known)."""
    return _ADDRESS.get()


class ClientAddress(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        token = _ADDRESS.set(str(client[0]) if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            _ADDRESS.reset(token)
