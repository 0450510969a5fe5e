"""Gradio's upload route, per user: who may upload, how much they may hold, how often, and for how long.

In front of ``POST /gradio_api/upload`` (before Gradio reads the body):

- in login mode an upload without a live session is refused (401): the uploader is always known;
- the ``UploadLedger`` admits the request or refuses it (429 too often, or while the user's other
  uploads still come in; 413 above the user's total) with a plain message; to make room it drops
  the user's oldest uploads no handler took;
- the files Gradio's answer names are recorded as the user's.

On any request, at most every ``sweep_every_s``, uploads older than ``keep_s`` that no handler took
are deleted (``UploadLedger.sweep``). Other users are never touched by one user's uploads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.app.upload_quota import UploadLedger, UploadRefused
from assistant.web.asgi import HttpMiddleware
from assistant.web.limits import UPLOAD_PATHS
from assistant.web.session import session_user

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = ["LOGIN_FIRST", "UploadQuota", "upload_ledger"]

LOGIN_FIRST = "log in first, then upload the file again"
_MAX_ANSWER = 1_000_000  # Gradio's answer (the stored paths) is read up to this


def upload_ledger(settings: Settings) -> UploadLedger:
    """The ledger with the settings' per-user limits (``upload_max_user_bytes`` and the rest)."""
    return UploadLedger(
        max_bytes=settings.upload_max_user_bytes,
        per_minute=settings.upload_max_per_minute,
        keep_s=settings.upload_keep_s,
    )


class UploadQuota(HttpMiddleware):
    """ASGI middleware; ``local_user``: who uploads in local mode (no login), None in login mode."""

    def __init__(self, app: ASGIApp, *, ledger: UploadLedger, local_user: str | None = None) -> None:
        super().__init__(app)
        self.ledger = ledger
        self.local_user = local_user
        self.sweep_every_s = min(30.0, ledger.keep_s / 2)
        self._swept = time.monotonic()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        now = time.monotonic()
        if now - self._swept >= self.sweep_every_s:
            self._swept = now
            await anyio.to_thread.run_sync(self.ledger.sweep)
        path = str(scope.get("path", ""))
        if scope.get("method") != "POST" or not path.rstrip("/").endswith(UPLOAD_PATHS):
            await self.app(scope, receive, send)
            return
        user = self.local_user or await session_user(scope)
        if user is None:
            log_refused("upload without login", path=path)
            await _answer(send, 401, LOGIN_FIRST)
            return
        declared = _declared(scope)  # BodyLimit refused the uploads that announce no length
        try:
            await anyio.to_thread.run_sync(self.ledger.admit, user, declared)
        except UploadRefused as refused:
            log_refused("upload over the user's quota", path=path, user=user, status=refused.status)
            await _answer(send, refused.status, refused.message)
            return
        status = 0
        body = bytearray()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status == 200 and len(body) < _MAX_ANSWER:
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            files = _stored_files(bytes(body)) if status == 200 else []
            await anyio.to_thread.run_sync(self.ledger.done, user, declared, files)


def _declared(scope: Scope) -> int:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return 0


def _stored_files(body: bytes) -> list[Path]:
    """The paths Gradio's upload answer names (a JSON list of paths)."""
    try:
        names = json.loads(body)
    except ValueError:
        return []
    if not isinstance(names, list):
        return []
    return [Path(name) for name in names if isinstance(name, str)]


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "error": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 429:
        headers.append((b"retry-after", b"60"))
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
