"""Gradio's upload route, per user: who may upload, how much they may hold, how often, and for how long.

In front of ``POST /gradio_api/upload`` (before Gradio reads the body):

- in login mode an upload without a live session is refused (401): the uploader is always known;
- the ``UploadLedger`` admits the request or refuses it (429 too often, or while the user's other
  uploads still come in; 413 above the user's total) with a plain message; to make room it drops
  the user's oldest uploads no handler took;
- the files Gradio's answer names are recorded as the user's;
- the files Gradio's parser made for this request and did not store (a refused, failed or cut-off
  upload's parts) are deleted when it ends, before its announced bytes stop counting. Gradio offers
  no hook for them: ``record_parser_files`` wraps the ``NamedTemporaryFile`` its parser
  (``gradio.route_utils.GradioMultiPartParser``) calls, and records each file it makes in the
  list of the request running (a context variable), so only this request's files are touched;
- an upload the client cut off part-way leaves one line in the log (``align.uploads``), not the
  traceback of Starlette's ``ClientDisconnect``;
- a form Gradio's parser reads on another route (``/gradio_api/process_recording``, bounded by the
  request body limit) has its files deleted the same way when the request ends. (``GradioRoutes``
  closes that route and ``component_server``; this holds for any form route opened later.)

On any request, at most every ``sweep_every_s``, uploads older than ``keep_s`` that no handler took
are deleted (``UploadLedger.sweep``). Other users are never touched by one user's uploads.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.app.upload_quota import PartFile, UploadLedger, UploadRefused
from assistant.web.asgi import HttpMiddleware
from assistant.web.limits import UPLOAD_PATHS
from assistant.web.session import session_user

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = ["LOGIN_FIRST", "UploadQuota", "record_parser_files", "upload_ledger"]

LOGIN_FIRST = "log in first, then upload the file again"
_MAX_ANSWER = 1_000_000  # Gradio's answer (the stored paths) is read up to this
_LOG = logging.getLogger("align.uploads")

# the files Gradio's upload parser made for the request running (None outside an upload request)
_PARTS: ContextVar[list[tuple[Any, PartFile]] | None] = ContextVar("align_upload_parts", default=None)


def record_parser_files() -> None:
    """Make Gradio's upload parser record each file it makes in the running request's list (once)."""
    from gradio import route_utils

    make = route_utils.NamedTemporaryFile
    if getattr(make, "records_upload_parts", False):
        return

    def recording(*args: Any, **kwargs: Any) -> Any:
        file = make(*args, **kwargs)
        parts = _PARTS.get()
        if parts is not None:
            parts.append((file, PartFile.of(file.name, file.fileno())))
        return file

    recording.records_upload_parts = True  # type: ignore[attr-defined]
    route_utils.NamedTemporaryFile = recording


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
        record_parser_files()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        now = time.monotonic()
        if now - self._swept >= self.sweep_every_s:
            self._swept = now
            await anyio.to_thread.run_sync(self.ledger.sweep)
        path = str(scope.get("path", ""))
        if scope.get("method") != "POST" or not path.rstrip("/").endswith(UPLOAD_PATHS):
            if scope.get("method") == "POST" and _multipart(scope):
                await _parsed_elsewhere(self.app, scope, receive, send)
            else:
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
        received = 0
        parts: list[tuple[Any, PartFile]] = []

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status == 200 and len(body) < _MAX_ANSWER:
                body.extend(message.get("body", b""))
            await send(message)

        recorded = _PARTS.set(parts)
        try:
            await self.app(scope, counting_receive, recording_send)
        except ClientDisconnect:
            _LOG.warning(
                "upload cut off by the client: user=%s received=%d of %d bytes", user, received, declared
            )
        finally:
            _PARTS.reset(recorded)
            files = _stored_files(bytes(body)) if status == 200 else []
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_finish, self.ledger, user, declared, files, parts)


def _finish(ledger: UploadLedger, user: str, declared: int, files: list[Path], parts: list[Any]) -> None:
    """Close the parser's files (a cut-off parse leaves them open) and end the request in the ledger."""
    for file, _ in parts:
        file.close()
    ledger.done(user, declared, files, parts=[part for _, part in parts])


async def _parsed_elsewhere(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """A form Gradio parses on another route (``process_recording``, ``component_server``) into
    files of the system's temporary folder, which it keeps even when it answers: they are deleted
    when the request ends (the route has copied or read them by then)."""
    parts: list[tuple[Any, PartFile]] = []
    recorded = _PARTS.set(parts)
    try:
        await app(scope, receive, send)
    except ClientDisconnect:
        _LOG.warning("form cut off by the client: path=%s", str(scope.get("path", ""))[:80])
    finally:
        _PARTS.reset(recorded)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_remove_parts, parts)


def _remove_parts(parts: list[tuple[Any, PartFile]]) -> None:
    for file, part in parts:
        file.close()
        part.remove()


def _multipart(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-type":
            return bytes(value).lower().lstrip().startswith(b"multipart/")
    return False


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
