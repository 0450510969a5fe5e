"""An event stream the queue does not hold is a plain 404.

Gradio's ``GET /gradio_api/queue/data?session_hash=H`` and ``GET /gradio_api/call/NAME/EVENT`` start
a streaming reply and only then look the session up: for one the queue does not hold, the stream
raises inside the reply and the server logs a traceback for every such request (anyone may send
them). ``QueueStreams`` looks the session up first, the way those routes do, and answers 404 with a
message instead. A caller without a login is left to Gradio's own 401.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.refusal import refuse
from assistant.web.session import session_user

__all__ = ["QueueStreams", "stream_session"]

DATA_PATH = "/gradio_api/queue/data"
CALL_PREFIX = "/gradio_api/call/"
GONE = (
    "This page session (or event) has ended or never existed on this server; reload the page to start "
    "a new one."
)


def stream_session(queue: Any, path: str, query: bytes) -> str | None:
    """The session hash a stream route would read (None: not a stream route, or no session named)."""
    if path.rstrip("/") == DATA_PATH:
        values = [
            v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == "session_hash"
        ]
        return values[-1] if values and values[-1] else None
    if not path.startswith(CALL_PREFIX):
        return None
    parts = path.removeprefix(CALL_PREFIX).strip("/").split("/")
    if parts and parts[0] == "v2":
        parts = parts[1:]
    if len(parts) != 2 or not parts[1]:
        return None
    event_id = parts[1]
    event = queue.event_ids_to_events.get(event_id)  # as gradio/routes.py simple_predict_get
    if event is not None:
        return str(event.session_hash)
    for session_hash, ids in list(queue.pending_event_ids_session.items()):
        if event_id in ids:
            return str(session_hash)
    return event_id


class QueueStreams:
    """ASGI middleware: the rule of the module docstring."""

    def __init__(self, app: ASGIApp, *, login_required: bool) -> None:
        self.app = app
        self.login_required = login_required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or str(scope.get("method", "")).upper() != "GET"
            or not (path.rstrip("/") == DATA_PATH or path.startswith(CALL_PREFIX))
        ):
            await self.app(scope, receive, send)
            return
        server: Any = scope.get("app")
        blocks = server.get_blocks() if server is not None and hasattr(server, "get_blocks") else None
        queue = getattr(blocks, "_queue", None)
        session_hash = (
            stream_session(queue, path, scope.get("query_string", b"")) if queue is not None else None
        )
        if (
            queue is None
            or session_hash is None
            or session_hash in queue.pending_messages_per_session
            or (self.login_required and await session_user(scope) is None)
        ):
            await self.app(scope, receive, send)
            return
        log_refused("stream of an unknown session", path=path)
        await refuse(send, path, 404, GONE, code="unknown_session")
