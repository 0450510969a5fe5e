"""The device cookie of the login form (``assistant.app.device_tokens``), between the browser and the
login check.

Gradio calls the login check as ``auth(username, password)``: no request. For ``POST /login``
``DeviceCookies`` reads the browser's device cookie and puts it, with a slot for the outcome, in a
context variable of the request's task (``current_login``); the login check reads the token from
there and, on success, names the user. The reply to a successful login then carries a new device
cookie for that user: ``HttpOnly; SameSite=Strict; Path=/``, and over HTTPS a ``__Host-`` cookie
with ``Secure`` (over HTTPS only that one is read, so a sibling host cannot plant one).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.device_tokens import MAX_AGE_S, DeviceTokens
from assistant.web.session_cookies import HOST_PREFIX, parse_cookie_pairs

__all__ = ["COOKIE", "DeviceCookies", "LoginAttempt", "current_login"]

COOKIE = "align-device"
LOGIN_PATHS = ("/login", "/login/")


@dataclass
class LoginAttempt:
    """The device token the browser sent (None: none), and who logged in with which session stamp
    (set by the login check)."""

    token: str | None = None
    succeeded: str | None = None
    stamp: str = ""


_ATTEMPT: ContextVar[LoginAttempt | None] = ContextVar("align_login_attempt", default=None)


def current_login() -> LoginAttempt | None:
    """The login attempt being handled in this task (``POST /login``), else None."""
    return _ATTEMPT.get()


class DeviceCookies:
    """ASGI middleware: the rules of the module docstring."""

    def __init__(self, app: ASGIApp, *, tokens: DeviceTokens | None) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.tokens is None
            or scope["type"] != "http"
            or scope.get("path") not in LOGIN_PATHS
            or str(scope.get("method", "")).upper() != "POST"
        ):
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        name = HOST_PREFIX + COOKIE if secure else COOKIE
        header = "; ".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"cookie")
        sent = [value for key, value in parse_cookie_pairs(header) if key == name]
        attempt = LoginAttempt(token=sent[0] if len(sent) == 1 else None)
        tokens = self.tokens

        async def send_device(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message.get("status") == 200
                and attempt.succeeded
            ):
                value = tokens.issue(attempt.succeeded, attempt.stamp)
                cookie = f"{name}={value}; Max-Age={MAX_AGE_S}; Path=/; HttpOnly; SameSite=Strict"
                if secure:
                    cookie += "; Secure"
                headers = [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]
                message = {**message, "headers": headers}
            await send(message)

        reset = _ATTEMPT.set(attempt)
        try:
            await self.app(scope, receive, send_device)
        finally:
            _ATTEMPT.reset(reset)
