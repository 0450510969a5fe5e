"""Each logged-in user's fair share of Gradio's shared queue (``max_queue`` jobs for everyone).

In front of the routes that put a job in the queue (``queue/join``, ``call/NAME``, ``run/NAME``,
``api/NAME``): when the caller already has ``max_per_user`` jobs waiting or running, or arriving
right now, the new one is refused with HTTP 429 and a plain message, before Gradio reads it. The
count is what Gradio's queue holds for that user name (``Event.username``: the login) plus the
requests of theirs this middleware lets through and Gradio has not yet queued.

Local mode (no login, one person on this machine) has no user names to share between: nothing is
refused there.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.queue_running import left_running
from assistant.web.session import session_user

__all__ = ["QUEUE_PATHS", "QueueShare", "queued_jobs"]

QUEUE_PATHS = ("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/")


def queued_jobs(app: Any, user: str) -> int:
    """The jobs of ``user`` in Gradio's queue, waiting or running, and the ones they cancelled whose
    handler still runs (0 when there is no queue)."""
    get_blocks = getattr(app, "get_blocks", None)
    queue = getattr(get_blocks(), "_queue", None) if get_blocks is not None else None
    if queue is None:
        return 0
    count = 0
    for events in list(getattr(queue, "event_queue_per_concurrency_id", {}).values()):
        count += sum(1 for event in list(events.queue) if getattr(event, "username", None) == user)
    for job in list(getattr(queue, "active_jobs", [])):
        count += sum(1 for event in list(job or []) if getattr(event, "username", None) == user)
    return count + sum(1 for _, who in left_running(queue) if who == user)


def _enqueues(scope: Scope) -> bool:
    """A POST that puts a job in the queue (``call/NAME/EVENT`` reads one back: a GET, not counted)."""
    path = str(scope.get("path", ""))
    return scope.get("method") == "POST" and any(
        path == p.rstrip("/") or path.startswith(p) for p in QUEUE_PATHS
    )


class QueueShare:
    """ASGI middleware; ``login_required``: False in local mode (then it passes everything)."""

    def __init__(self, app: ASGIApp, *, max_per_user: int, login_required: bool = True) -> None:
        self.app = app
        self.max_per_user = max_per_user
        self.login_required = login_required
        self._arriving: Counter[str] = Counter()  # let through, not yet in Gradio's queue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.login_required or not _enqueues(scope):
            await self.app(scope, receive, send)
            return
        user = await session_user(scope)
        if user is None:  # Gradio's own login check refuses it
            await self.app(scope, receive, send)
            return
        held = queued_jobs(scope.get("app"), user) + self._arriving[user]
        if held >= self.max_per_user:
            log_refused("queue job over the user's share", user=user, held=held, path=scope.get("path"))
            await _too_many(send, self.max_per_user)
            return
        self._arriving[user] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._arriving[user] -= 1
            if self._arriving[user] <= 0:
                del self._arriving[user]


async def _too_many(send: Send, limit: int) -> None:
    detail = (
        f"you already have {limit} requests waiting or running, your share of this server; wait for "
        "one of them to finish, then try again"
    )
    body = json.dumps({"detail": detail, "error": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"5"),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
