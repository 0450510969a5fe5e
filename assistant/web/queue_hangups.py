"""A caller who closes the event stream of their queued jobs gives them up at once.

A page, a ``gradio_client`` or a raw HTTP caller reads the answers of its jobs in Gradio's queue from
an event stream (``GET /gradio_api/queue/data?session_hash=H``, or ``GET /gradio_api/call/NAME/EVENT``
for the plain HTTP API). When that stream ends early (the tab closed, the client process gone),
Gradio gives the session's jobs up (``Queue.clean_events``: waiting ones leave the line, running ones
are marked no longer ``alive``), but only when its stream loop next looks, up to ten seconds later
(sooner only with an ASGI server that tells a streaming reply of the hang-up). ``QueueHangups``
listens for the hang-up itself and gives the jobs up then: the running places they held go to the next
job (``assistant.web.queue_running``), and their handlers stop at their next step
(``assistant.decisions.cancel`` through ``ui.caller``).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.web.queue_streams import CALL_PREFIX, DATA_PATH, stream_session

__all__ = ["QueueHangups"]


class QueueHangups:
    """ASGI middleware: the rule of the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
        if queue is None or session_hash is None:
            await self.app(scope, receive, send)
            return
        inbox, outbox = anyio.create_memory_object_stream[Message](math.inf)
        answered = False  # the stream's last part is sent: a disconnect now is no hang-up

        async def listen() -> None:
            """Every message of the connection goes on to the app; a hang-up also ends the jobs."""
            while True:
                message = await receive()
                await inbox.send(message)
                if message["type"] == "http.disconnect":
                    if not answered:
                        with contextlib.suppress(Exception):
                            await queue.clean_events(session_hash=session_hash)
                    return

        async def app_receive() -> Message:
            return await outbox.receive()

        async def app_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            try:
                await self.app(scope, app_receive, app_send)
            finally:
                group.cancel_scope.cancel()
                inbox.close()
                outbox.close()
