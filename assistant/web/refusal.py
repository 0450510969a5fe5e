"""One shape for the edge's refusals: JSON with a message a person can act on, never cached.

Gradio's routes answer ``{"detail": ...}``; the OpenAI-compatible API (``/v1/``) answers as OpenAI
does, ``{"error": {"message", "type", "code"}}``, which its clients show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import Send

__all__ = ["OPENAI_PREFIX", "refuse", "send_whole"]

OPENAI_PREFIX = "/v1/"

Header = tuple[bytes, bytes]


async def send_whole(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    *,
    headers: Iterable[Header] = (),
    head: bool = False,
) -> None:
    """Send a complete, uncached ``status`` response: ``body`` (none for ``head``, its length
    declared all the same), then ``headers``."""
    start: list[Header] = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def refuse(
    send: Send,
    path: str,
    status: int,
    detail: str,
    *,
    code: str = "refused",
    close: bool = False,
    headers: Iterable[Header] = (),
) -> None:
    """Send a complete ``status`` response saying ``detail``; ``close``: the connection ends with it
    (a body that was not read); ``headers``: more of them (after the connection's)."""
    if path.startswith(OPENAI_PREFIX) or path == OPENAI_PREFIX.rstrip("/"):
        error = {"message": detail, "type": "invalid_request_error", "param": None, "code": code}
        body = json.dumps({"error": error}).encode()
    else:
        body = json.dumps({"detail": detail, "error": detail}).encode()
    closing = [(b"connection", b"close")] if close else []
    await send_whole(send, status, body, b"application/json", headers=[*closing, *headers])
