"""One shape for the edge's refusals: JSON with a message a person can act on, never cached.

Gradio's routes answer ``{"detail": ...}``; the OpenAI-compatible API (``/v1/``) answers as OpenAI
does, ``{"error": {"message", "type", "code"}}``, which its clients show.
"""

from __future__ import annotations

import json

from starlette.types import Send

__all__ = ["OPENAI_PREFIX", "refuse"]

OPENAI_PREFIX = "/v1/"


async def refuse(
    send: Send, path: str, status: int, detail: str, *, code: str = "refused", close: bool = False
) -> None:
    """Send a complete ``status`` response saying ``detail``; ``close``: the connection ends with it
    (a body that was not read)."""
    if path.startswith(OPENAI_PREFIX) or path == OPENAI_PREFIX.rstrip("/"):
        error = {"message": detail, "type": "invalid_request_error", "param": None, "code": code}
        body = json.dumps({"error": error}).encode()
    else:
        body = json.dumps({"detail": detail, "error": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *([(b"connection", b"close")] if close else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
