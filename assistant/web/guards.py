"""What ``align serve`` adds to the FastAPI app Gradio builds: size limits, the client address for
the login limiter, login sessions bound to the database, and the async login check.

``demo.launch(app_kwargs=...)`` hands these to ``FastAPI(...)``: ``middleware`` (outermost first)
runs before Gradio parses anything, and ``lifespan`` runs once the app exists and before the first
request, which is where Gradio's in-memory ``app.tokens`` is replaced by ``SessionTokens`` and Gradio's
CORS middleware, which it adds after ours, is taken out again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.middleware import Middleware

from assistant.web.client_address import ClientAddress, current_address
from assistant.web.device_cookies import DeviceCookies, current_login
from assistant.web.json_depth import JsonDepth
from assistant.web.limits import BodyLimit
from assistant.web.origins import drop_gradio_cors
from assistant.web.queue_share import QueueShare
from assistant.web.queue_streams import QueueStreams
from assistant.web.session_binding import Bindings, SessionBinding
from assistant.web.session_tokens import SessionTokens
from assistant.web.upload_quota import UploadQuota, upload_ledger

if TYPE_CHECKING:
    from assistant.app import AppService

__all__ = ["guard_middleware", "login_check", "sessions_lifespan"]

# logins handled at once in threads of their own (the password checks among them are capped lower,
# by the login_max_concurrent_checks setting); the rest wait for one of these, not for a worker thread
LOGIN_THREADS = 8


def guard_middleware(app: AppService, bindings: Bindings | None = None) -> list[Middleware]:
    """The body size limit (outermost: a refusal costs nothing), the client address and the login
    form's device cookie (``assistant.web.device_cookies``), each user's
    upload quota (``assistant.web.upload_quota``), JSON nested too deeply refused, then Gradio's
    session hashes bound to their users (these two read bodies the limit has bounded), each user's
    share of the queue, and a plain 404 for the event stream of a session the queue does not hold.
    ``bindings``: the record of whose each session hash is (a new one if not given)."""
    settings = app.service.settings
    return [
        Middleware(
            BodyLimit,
            max_bytes=settings.max_request_bytes,
            upload_bytes=settings.max_upload_bytes,
        ),
        Middleware(ClientAddress),
        Middleware(DeviceCookies, tokens=None if app.local_mode else app.devices),
        Middleware(UploadQuota, ledger=upload_ledger(settings), local_user=app.local_user),
        Middleware(JsonDepth),
        Middleware(SessionBinding, login_required=not app.local_mode, bindings=bindings),
        Middleware(QueueShare, max_per_user=settings.queue_max_per_user, login_required=not app.local_mode),
        Middleware(QueueStreams, login_required=not app.local_mode),
    ]


def sessions_lifespan(app: AppService) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan that binds Gradio's login sessions to the users' session stamps, and takes
    Gradio's CORS middleware out (``assistant.web.origins.OriginGuard`` does its work)."""

    @asynccontextmanager
    async def lifespan(server_app: Any) -> AsyncIterator[None]:
        drop_gradio_cors(server_app)
        settings = app.service.settings
        tokens = SessionTokens(
            app.store.users.session_stamp,
            idle_s=settings.session_idle_s,
            lifetime_s=settings.session_lifetime_s,
        )
        server_app.tokens = tokens
        app.sessions = tokens
        yield

    return lifespan


def login_check(app: AppService) -> Callable[[str, str], Awaitable[bool]]:
    """The login check for Gradio: argon2 off the event loop, limited per (name, client address) or,
    for a browser with a device cookie of that name, per (name, device), and per address whatever the
    name; refused (HTTP 429 with the reason) while a limit holds or when as many password checks as
    allowed are running. Logins run in threads of their own (``LOGIN_THREADS`` at once), never taking
    the worker threads that requests and decisions wait for."""
    import anyio
    from fastapi import HTTPException

    from assistant.app.login_limit import TooManyLogins

    threads: list[anyio.CapacityLimiter] = []

    def limiter() -> anyio.CapacityLimiter:
        if not threads:  # made in the server's event loop, on the first login
            threads.append(anyio.CapacityLimiter(LOGIN_THREADS))
        return threads[0]

    async def check(username: str, password: str) -> bool:
        address = current_address()
        attempt = current_login()
        device = attempt.token if attempt else None
        try:
            ok = bool(
                await anyio.to_thread.run_sync(
                    app.authenticate, username, password, address, device, limiter=limiter()
                )
            )
        except TooManyLogins as exc:
            raise HTTPException(status_code=429, detail=str(exc)) from None
        if ok and attempt is not None:
            # the reply carries this browser's device cookie, bound to the account's session stamp
            stamp = await anyio.to_thread.run_sync(app.store.users.session_stamp, username, limiter=limiter())
            attempt.stamp = stamp or ""
            attempt.succeeded = username
        return ok

    return check
