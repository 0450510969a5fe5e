"""What the ASGI middleware of the edge share: acting on HTTP requests only, and reading a request's
body before the app does (then handing the app the same messages)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpMiddleware", "read_body", "replaying"]


class HttpMiddleware:
    """An ASGI middleware for HTTP requests: ``handle`` gets each one; other scopes (websockets,
    lifespan) go to the app untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


async def read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The request's whole body, and the messages it came in (``replaying`` hands them on)."""
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return body, messages


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that answers ``messages`` first (a body read already), then asks ``receive``."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
