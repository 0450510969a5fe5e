"""What ``align serve`` puts around Gradio's app to keep users' files and the server's details private.

- ``serving_handout()``: handed-out files live in Gradio's cache folder (``align-handout/``).
- ``security_middleware(app)``: security headers on every response (outermost, so refusals carry
  them too); the web edge: host names, login cookies no other site can plant, logins only over
  HTTPS or on this machine (unless the operator allows plain HTTP), origins (in place of
  Gradio's CORS), JSON-only endpoints, hardened session cookies and uncached credential replies,
  Gradio's own routes held to the app's rules (its upload progress route bounded); the login page
  without the API description, the file guard.
- ``health_details(app)``: who sees ``/healthz``'s full report: admins and callers on this machine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request

from alignment.errors import AlignError
from assistant.app import AppService
from assistant.app.handout import Handout
from assistant.web.credentials import CredentialReplies
from assistant.web.file_guard import FileGuard
from assistant.web.gradio_routes import GradioRoutes
from assistant.web.headers import SecurityHeaders
from assistant.web.hosts import HostGuard
from assistant.web.json_only import JsonOnly
from assistant.web.login_page import HideApiInfo
from assistant.web.origins import OriginGuard
from assistant.web.plain_http import PlainHttpLogin
from assistant.web.session import is_loopback, session_user
from assistant.web.session_cookies import SessionCookies
from assistant.web.upload_progress import UploadProgress

__all__ = ["gradio_cache", "health_details", "security_middleware", "serving_handout"]


def gradio_cache() -> Path:
    """Gradio's cache folder: uploads, and the files handlers return (GRADIO_TEMP_DIR)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


def serving_handout() -> Handout:
    return Handout(gradio_cache() / "align-handout")


def _is_admin(app: AppService, username: str | None) -> bool:
    try:
        return app.actor(username).is_admin
    except AlignError:
        return False


def security_middleware(app: AppService) -> list[Middleware]:
    """Outermost first."""
    settings = app.service.settings

    async def is_admin(username: str) -> bool:
        return await run_in_threadpool(_is_admin, app, username)

    return [
        Middleware(SecurityHeaders),
        Middleware(HostGuard, local_mode=app.local_mode, allowed_hosts=settings.allowed_hosts),
        Middleware(SessionCookies),
        Middleware(
            PlainHttpLogin,
            login_required=not app.local_mode,
            allow_insecure=settings.allow_insecure_http_login,
        ),
        Middleware(OriginGuard, allowed_origins=settings.allowed_origins),
        Middleware(JsonOnly),
        Middleware(CredentialReplies),
        Middleware(GradioRoutes, login_required=not app.local_mode, is_admin=is_admin),
        Middleware(UploadProgress),
        Middleware(HideApiInfo, login_required=not app.local_mode),
        Middleware(
            FileGuard,
            handout=app.handout,
            may_read=app.may_read,
            private=[app.service.settings.data_dir, app.work_dir],
            except_under=[gradio_cache()],
        ),
    ]


def health_details(app: AppService) -> Callable[[Request], Awaitable[bool]]:
    """``/healthz`` shows its report to loopback callers and to a logged-in admin; others get ok/fail."""

    async def details(request: Request) -> bool:
        if is_loopback(request.scope):
            return True
        user = await session_user(request.scope)
        return user is not None and await run_in_threadpool(_is_admin, app, user)

    return details
