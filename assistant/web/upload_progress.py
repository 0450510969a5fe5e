"""Gradio's upload progress routes, held to a bound.

``GET /gradio_api/upload_progress?upload_id=ID`` (the page follows an upload's progress with it) waits
up to 3 s for an upload of that id, and Gradio's ``file_upload_statuses`` (``gradio.routes``) keeps an
entry for every id asked about, never removed; an upload posted with ``?upload_id=ID`` whose progress
is never read leaves its entries too. So a user asking about random ids grew the server's memory
without bound and held as many 3-second waits as they liked. Here:

- a user has at most ``MAX_STREAMS`` progress streams open at once; one more answers 429;
- an ``upload_id`` longer than ``MAX_ID`` characters answers 400 (Gradio's page makes short ones);
- when a progress stream or an upload with an ``upload_id`` ends and no other request of that id is
  still open, the entries Gradio keeps for the id are removed (after an upload, ``GRACE_S`` seconds
  later, so a progress stream that arrives just after a quick upload still reads "done").
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.asgi import HttpMiddleware
from assistant.web.refusal import refuse
from assistant.web.session import session_user

__all__ = ["GRACE_S", "MAX_ID", "MAX_STREAMS", "UploadProgress", "forget_upload", "upload_tracker"]

PROGRESS_PATH = "/gradio_api/upload_progress"
UPLOAD_PATH = "/gradio_api/upload"
MAX_STREAMS = 4
MAX_ID = 64
GRACE_S = 10.0
# the tables of Gradio's FileUploadProgress that hold an entry per upload id
TABLES = ("_statuses", "_signals")


def upload_tracker() -> Any:
    """Gradio's ``file_upload_statuses`` (None when ``gradio.routes`` is not loaded or lacks it)."""
    return getattr(sys.modules.get("gradio.routes"), "file_upload_statuses", None)


def forget_upload(tracker: Any, upload_id: str) -> None:
    """Remove what ``tracker`` (Gradio's ``FileUploadProgress``) keeps for ``upload_id``, if it keeps
    it where this Gradio does."""
    for name in TABLES:
        table = getattr(tracker, name, None)
        if isinstance(table, dict):
            table.pop(upload_id, None)


def upload_id_of(query: bytes) -> str | None:
    """The ``upload_id`` the route reads (the last one given), or None."""
    values = [v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == "upload_id"]
    return values[-1] if values else None


class UploadProgress(HttpMiddleware):
    """ASGI middleware: the rules of the module docstring. ``max_streams``: progress streams a user may
    have open at once; ``grace_s``: how long a finished upload's entries wait for its progress stream."""

    def __init__(self, app: ASGIApp, *, max_streams: int = MAX_STREAMS, grace_s: float = GRACE_S) -> None:
        super().__init__(app)
        self.max_streams = max_streams
        self.grace_s = grace_s
        self.streams_of_user: Counter[str] = Counter()
        self.streams_of_id: Counter[str] = Counter()
        self.uploads_of_id: Counter[str] = Counter()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")).rstrip("/")
        if path not in (PROGRESS_PATH, UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        upload_id = upload_id_of(scope.get("query_string", b""))
        if not upload_id:  # an upload without progress; a progress request Gradio refuses itself
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET")).upper()
        if len(upload_id) > MAX_ID:
            log_refused("upload id too long", path=path)
            await refuse(
                send,
                path,
                400,
                f"This upload's id is too long (at most {MAX_ID} characters); reload the page and try again.",
                close=method not in ("GET", "HEAD"),
            )
            return
        if path == UPLOAD_PATH:
            await self._upload(scope, receive, send, upload_id)
        else:
            await self._progress(scope, receive, send, upload_id, path)

    async def _upload(self, scope: Scope, receive: Receive, send: Send, upload_id: str) -> None:
        self.uploads_of_id[upload_id] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._drop(self.uploads_of_id, upload_id)
            asyncio.get_running_loop().call_later(self.grace_s, self._settle, upload_id)

    async def _progress(self, scope: Scope, receive: Receive, send: Send, upload_id: str, path: str) -> None:
        user = await session_user(scope) or ""
        if self.streams_of_user[user] >= self.max_streams:
            log_refused("too many upload progress streams", path=path, user=user or None)
            await refuse(
                send,
                path,
                429,
                f"You are following {self.max_streams} uploads already; wait for one to finish.",
                code="too_many_requests",
            )
            return
        self.streams_of_user[user] += 1
        self.streams_of_id[upload_id] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._drop(self.streams_of_user, user)
            self._drop(self.streams_of_id, upload_id)
            self._settle(upload_id)

    def _settle(self, upload_id: str) -> None:
        if self.streams_of_id[upload_id] or self.uploads_of_id[upload_id]:
            return
        self.streams_of_id.pop(upload_id, None)
        self.uploads_of_id.pop(upload_id, None)
        forget_upload(upload_tracker(), upload_id)

    @staticmethod
    def _drop(counter: Counter[str], key: str) -> None:
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]
