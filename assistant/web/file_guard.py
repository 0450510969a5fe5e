"""Gradio's file route serves each user's files to that user (and admins) only.

Gradio serves ``/gradio_api/file=<path>`` to anyone logged in, for any path in its cache folder or
in ``allowed_paths``. In front of that route this middleware refuses:

- a path in the app's data folder (database, Chroma, evaluation runs, uploads): never served;
- a path among the handed-out copies (``Handout``) unless a live grant names the caller as its
  owner, or the caller is an admin.

Every refusal is the same 403 whatever the reason (missing, expired, someone else's), so a caller
learns nothing about other users' files. Everything else goes on to Gradio and its own rules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.handout import Handout
from assistant.web.session import session_user

__all__ = ["FILE_ROUTES", "FileGuard", "file_route_target"]

FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/")
REFUSED = "File not allowed. Open it from the page that offered it, logged in as its owner."


def file_route_target(path: str) -> str | None:
    """The file path a request to Gradio's file route names, or None for any other route."""
    for route in FILE_ROUTES:
        at = path.find(route)
        if at != -1:
            return path[at + len(route) :]
    return None


def _forms(target: str) -> list[Path]:
    absolute = Path(os.path.abspath(target))
    try:
        return [absolute, absolute.resolve()]
    except (OSError, RuntimeError):
        return [absolute]


def _under(target: str, folders: Sequence[Path]) -> bool:
    roots = [form for folder in folders for form in _forms(str(folder))]
    return any(p.is_relative_to(root) for p in _forms(target) for root in roots)


class FileGuard:
    """ASGI middleware in front of Gradio's file route.

    ``may_read(user, owner)``: whether the session's user (None: no session) may read a file
    handed out to ``owner`` (the owner and admins may). ``private``: folders never served, except
    what lies in ``except_under`` (Gradio's own cache, should it sit inside the data folder).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        handout: Handout,
        may_read: Callable[[str | None, str], bool],
        private: Sequence[Path] = (),
        except_under: Sequence[Path] = (),
    ) -> None:
        self.app = app
        self.handout = handout
        self.may_read = may_read
        self.private = list(private)
        self.except_under = list(except_under)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = file_route_target(scope.get("path", "")) if scope["type"] == "http" else None
        if target is None or target.startswith(("http://", "https://")) or not target:
            await self.app(scope, receive, send)
            return
        if self.handout.holds(target):
            owner = self.handout.owner_of(target)
            user = await session_user(scope)
            allowed = owner is not None and await anyio.to_thread.run_sync(self.may_read, user, owner)
            if not allowed:
                await JSONResponse({"detail": REFUSED}, status_code=403)(scope, receive, send)
                return
            await self.app(scope, receive, _private_cache(send))
            return
        if _under(target, self.private) and not _under(target, self.except_under):
            await JSONResponse({"detail": REFUSED}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _private_cache(send: Send) -> Send:
    """A user's file may sit in the browser's cache, never in a shared one."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)["Cache-Control"] = "private, no-store"
        await send(message)

    return wrapped
