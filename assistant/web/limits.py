"""Request body limits: an ASGI middleware that answers 413 before the app parses the body.

It trusts no header: a declared ``Content-Length`` above the limit is refused at once, and every
body (chunked ones too) is counted as it streams in; the moment the count passes the limit the app
is stopped and the caller gets 413. Uploads have their own, larger limit, and must announce their
length (411 otherwise: browsers and gradio_client always do): Gradio removes a half-written upload
only when its own parser fails, so an upload is never cut off in the middle. A refusal is logged as
one short line (``assistant.app.refused``), never with its payload. On the OpenAI-compatible API
(``/v1/``) the refusal is in OpenAI's error format, which its clients read.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.asgi import HttpMiddleware
from assistant.web.refusal import refuse

__all__ = ["UPLOAD_PATHS", "BodyLimit", "BodyTooLarge", "megabytes"]

# Gradio's upload route (multipart); every other route takes JSON or a form
UPLOAD_PATHS = ("/gradio_api/upload",)
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the uploaded files


class BodyTooLarge(Exception):
    """Raised into the app from ``receive`` once the body passed its limit."""


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit(HttpMiddleware):
    """``max_bytes`` for a request body; ``upload_bytes`` on the upload routes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_bytes: int,
        upload_paths: Sequence[str] = UPLOAD_PATHS,
    ) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes
        self.upload_paths = tuple(upload_paths)

    def limit_for(self, path: str) -> tuple[int, str]:
        if path.rstrip("/").endswith(self.upload_paths):
            return self.upload_bytes + MULTIPART_SLACK, "upload"
        return self.max_bytes, "request"

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        limit, kind = self.limit_for(path)
        declared = _declared_length(scope)
        if kind == "upload" and declared is None and scope.get("method") == "POST":
            log_refused("upload without a length", path=path)
            await refuse(
                send,
                path,
                411,
                "send the file with its size announced (a Content-Length header), as a browser does; "
                f"this server takes at most {megabytes(self.upload_bytes)} per file",
                code="request_too_large",
                close=True,
            )
            return
        if declared is not None and declared > limit:
            log_refused(f"{kind} body", path=path, declared_bytes=declared, limit_bytes=limit)
            await self._refuse(send, path, kind, declared, limit)
            return

        received = 0
        too_large = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the app's own answer to a cut-off body: the caller gets 413 instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not too_large:
                raise
        if too_large:
            log_refused(f"{kind} body", path=path, received_bytes=f">{limit}", limit_bytes=limit)
            if not started:
                await self._refuse(send, path, kind, received, limit)

    async def _refuse(self, send: Send, path: str, kind: str, size: int, limit: int) -> None:
        shown = limit - MULTIPART_SLACK if kind == "upload" else limit
        what = "file" if kind == "upload" else "request"
        detail = (
            f"the {what} is too large (at least {megabytes(size)}); this server takes at most "
            f"{megabytes(shown)} per {what}. "
            + (
                "Upload a smaller file, or split it into several."
                if kind == "upload"
                else "Send less: shorten the text or split the request."
            )
        )
        await refuse(send, path, 413, detail, code="request_too_large", close=True)
