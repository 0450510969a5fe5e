"""JSON endpoints take only JSON bodies.

A web page may send a cross-site ``POST`` without asking first (no preflight) only with a form-like
body (``text/plain``, ``application/x-www-form-urlencoded``, ``multipart/form-data``). Requiring
``Content-Type: application/json`` on the endpoints that take JSON (``/v1/``, Gradio's queue and API
routes) closes that path even where no origin check applies (an old browser, a foreign origin that
was allowed for reading only). Uploads keep their multipart body; the login form keeps its form.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.refusal import refuse

__all__ = ["JSON_PATHS", "JsonOnly", "takes_json"]

# path prefixes (POST) whose bodies are JSON; "/v1/" is the OpenAI-compatible API
JSON_PATHS = (
    "/v1/",
    "/gradio_api/queue/join",
    "/gradio_api/run/",
    "/gradio_api/api/",
    "/gradio_api/call/",
    "/gradio_api/cancel",
    "/gradio_api/reset",
)


def takes_json(path: str) -> bool:
    return path.startswith(JSON_PATHS)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonOnly:
    """ASGI middleware: 415 for a POST, PUT or PATCH on a JSON endpoint whose body is not declared JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        content_type = Headers(scope=scope).get("content-type", "")
        if not takes_json(path) or _is_json(content_type):
            await self.app(scope, receive, send)
            return
        log_refused("body not declared as JSON", path=path, content_type=content_type or "(none)")
        await refuse(
            send,
            path,
            415,
            "send the request body as JSON, with the header Content-Type: application/json",
            code="unsupported_media_type",
        )
