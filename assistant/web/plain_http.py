"""Passwords and login cookies only over HTTPS, or on this machine.

Over plain HTTP a page on a sibling host or another port of the same domain can fill the browser's
cookie store with junk cookies until it evicts the HttpOnly login cookie, then set its own: the
person then acts in the attacker's account (login CSRF by cookie flooding). Over HTTPS the
``__Host-`` + ``Secure`` login cookie (``assistant.web.session_cookies``) closes that, and nobody on the
network reads the password. So in login mode ``PlainHttpLogin``, for a request that is neither HTTPS
(the request's scheme, or a trusted proxy's ``X-Forwarded-Proto``) nor addressed to a loopback host
name (``localhost``, ``127.0.0.1``, ``[::1]``: a browser on this machine):

- shows that message in place of the login page's own (the page and ``/config``), and refuses the
  login form (``POST /login``, 403) with it;
- treats the request as logged out: login cookies are dropped from it, so a cookie planted on a plain
  HTTP host name logs nobody in.

An operator who accepts the risk (a closed network, a tunnel of their own) turns this off with the
``allow_insecure_http_login`` setting.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.credentials import SESSION_COOKIE_PREFIX
from assistant.web.hosts import host_name, is_loopback_name
from assistant.web.html import edit_html
from assistant.web.login_page import AUTH_MESSAGE
from assistant.web.refusal import refuse
from assistant.web.session_cookies import parse_cookie_pairs

__all__ = ["LOGIN_PATHS", "PLAIN_HTTP_MESSAGE", "PlainHttpLogin", "plain_http_notice"]

LOGIN_PATHS = ("/login", "/login/")
PAGE_PATHS = ("/", "/config", "/config/")
PLAIN_HTTP_MESSAGE = (
    "This server asks for passwords over an unencrypted connection; ask its operator to serve it over HTTPS."
)


def plain_http_notice(*, login_required: bool, allow_insecure: bool) -> str | None:
    """What ``align serve`` says at start-up about logins over plain HTTP (None in local mode)."""
    if not login_required:
        return None
    if allow_insecure:
        return (
            "logins are accepted over plain HTTP on any host name (allow_insecure_http_login): passwords "
            "cross the network unencrypted and another site on the same domain can log people in as "
            "someone else; serve it over HTTPS instead"
        )
    return (
        "logins are accepted over HTTPS (a reverse proxy listed in trusted_proxies) and at localhost; "
        "over plain HTTP on another host name the login is refused (allow_insecure_http_login allows it)"
    )


def _notice_in_page(send: Send) -> Send:
    """A ``send`` that puts ``PLAIN_HTTP_MESSAGE`` in place of the login page's message (in the page,
    or the JSON of ``/config`` that the login page reads)."""
    return edit_html(
        send,
        lambda text: text.replace(AUTH_MESSAGE, PLAIN_HTTP_MESSAGE),
        kinds=("text/html", "application/json"),
    )


def _is_session_cookie(name: str) -> bool:
    return name.removeprefix("__Host-").startswith(SESSION_COOKIE_PREFIX)


class PlainHttpLogin:
    """ASGI middleware: the rules of the module docstring. Put it inside ``SessionCookies`` (which
    renames the ``__Host-`` cookie back) and outside everything that reads the login cookie."""

    def __init__(self, app: ASGIApp, *, login_required: bool, allow_insecure: bool) -> None:
        self.app = app
        self.active = login_required and not allow_insecure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.active
            or scope["type"] not in ("http", "websocket")
            or scope.get("scheme") in ("https", "wss")
            or is_loopback_name(host_name(Headers(scope=scope).get("host", "")))
        ):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path in LOGIN_PATHS and str(scope.get("method", "")).upper() == "POST":
            log_refused("login over plain HTTP", path=path)
            await refuse(send, path, 403, PLAIN_HTTP_MESSAGE, code="https_required")
            return
        if path in PAGE_PATHS:
            send = _notice_in_page(send)
        headers = list(scope.get("headers", []))
        cookies = "; ".join(v.decode("latin-1") for k, v in headers if k.lower() == b"cookie")
        pairs = parse_cookie_pairs(cookies)
        if any(_is_session_cookie(name) for name, _ in pairs):
            kept = "; ".join(f"{n}={v}" if n else v for n, v in pairs if not _is_session_cookie(n))
            headers = [(k, v) for k, v in headers if k.lower() != b"cookie"]
            if kept:
                headers.append((b"cookie", kept.encode("latin-1")))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
