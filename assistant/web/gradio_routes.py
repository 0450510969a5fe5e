"""Gradio's own routes, held to the app's rules.

- Under ``/gradio_api/`` only the routes the app's page and ``gradio_client`` use are open
  (``OPEN_ROUTES``); every other one answers 404, so a route a newer Gradio adds is closed until it is
  listed here. Among those closed: ``process_recording`` (the page's screen recorder: each call left
  the uploaded video in the server's temp folder, outside the upload quota), ``dev/reload`` (the
  hot-reload notifier: each open stream woke the server every 50 ms), ``component_server`` (no
  component of the app has server functions), ``stream/`` (no streaming component), ``queue/status``,
  ``login_check``, ``openapi.json``, ``mcp``, the run history, the profiler and the "vibe" editor.
  (This Gradio has no unprefixed twins of them: ``/theme.css`` and the page's own routes stay at the root.)
- ``/gradio_api/token`` returns the session token to script; nothing in Gradio's page or in
  ``gradio_client`` uses it. It answers 404 here.
- ``GET /logout`` ends every session of the user, so a link or an image on any page could log people
  out. Here it does so only as a navigation from the app's own page (the "Log out" button:
  ``Sec-Fetch-Site: same-origin``, ``Sec-Fetch-Mode: navigate``); any other GET gets a small page
  with a "Log out" button that posts to ``/logout``. ``POST /logout`` (which ``OriginGuard`` refuses
  from other sites) logs out. That page sets its referrer policy to ``same-origin``: under the app's
  ``no-referrer`` a browser sends a form's POST with ``Origin: null``, which is refused. Browsers send
  ``Sec-Fetch-*`` only to HTTPS and localhost, so on a plain-HTTP host name the button asks too.
- ``/gradio_api/deep_link`` writes the calling page's whole state to a file in Gradio's cache at each
  call, kept after a restart and readable by anyone who has its name; the app makes no deep links, so
  it answers 404 here.
- ``/monitoring`` prints the dashboard's secret URL to the server's log for any logged-in user: it
  answers 404 here. ``/monitoring/summary`` (and the dashboard) are for admins only.
- The heartbeat, cancel and reset routes, which Gradio leaves open, need a login in login
  mode. (``startup-events`` stays open: Gradio calls it itself, without a login, as it starts; it runs
  the app's start-up work once.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.asgi import HttpMiddleware
from assistant.web.refusal import refuse, send_whole
from assistant.web.session import session_user

__all__ = ["LOGOUT_PAGE", "OPEN_ROUTES", "GradioRoutes", "closed_route"]

GRADIO_API = "/gradio_api/"
# What the app's page (Gradio's JavaScript client) and gradio_client ask for under GRADIO_API: a name
# ending in "/" or "=" opens the routes under it; any other name, itself (and with a trailing slash).
OPEN_ROUTES = (
    "queue/join",
    "queue/data",
    "call/",
    "run/",
    "api/",
    "cancel",
    "reset",
    "heartbeat/",
    "upload",
    "upload_progress",
    "file=",
    "file/",
    "info",
    "app_id",
    "user",
    "startup-events",  # Gradio calls it itself as it starts
)
TOKEN_PATHS = ("/gradio_api/token",)
DEEP_LINK_PATHS = ("/gradio_api/deep_link",)
# Gradio's routes that skip its login check but touch a session's work (list: gradio/routes.py)
LOGIN_PATHS = (
    "/gradio_api/heartbeat/",
    "/gradio_api/cancel",
    "/gradio_api/reset",
)
MONITORING = "/monitoring"

LOGOUT_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log out</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"></head>
<body style="font-family: sans-serif; margin: 3em auto; max-width: 32em">
<h1>Log out?</h1>
<p>This ends your login on this server, in every browser where you are logged in.</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
<p><a href="/">Back to the app</a></p>
</body></html>
"""


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def closed_route(path: str) -> bool:
    """Is ``path`` one of Gradio's routes under ``/gradio_api/`` that the app does not use?"""
    if not (path + "/").startswith(GRADIO_API):
        return False
    rest = path[len(GRADIO_API) :]
    for name in OPEN_ROUTES:
        if name.endswith(("/", "=")):
            if rest.startswith(name) and len(rest) > len(name):
                return False
        elif rest in (name, name + "/"):
            return False
    return True


class GradioRoutes(HttpMiddleware):
    """ASGI middleware: the rules of the module docstring.

    ``is_admin(user)`` (awaited) says whether a logged-in user is an admin; in local mode there is one
    user, the local admin, and no login to check."""

    def __init__(
        self, app: ASGIApp, *, login_required: bool, is_admin: Callable[[str], Awaitable[bool]]
    ) -> None:
        super().__init__(app)
        self.login_required = login_required
        self.is_admin = is_admin

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        method = str(scope.get("method", "GET")).upper()
        if _under(path, TOKEN_PATHS):
            log_refused("session token route", path=path)
            await refuse(send, path, 404, "Not Found", code="not_found")
            return
        if _under(path, DEEP_LINK_PATHS):
            log_refused("deep link route", path=path)
            await refuse(send, path, 404, "This app makes no deep links.", code="not_found")
            return
        if closed_route(path):
            log_refused("Gradio route the app does not use", path=path)
            # a body is not read: the connection ends with the answer
            await refuse(send, path, 404, "Not Found", code="not_found", close=method not in ("GET", "HEAD"))
            return
        if path.rstrip("/") == "/logout":
            await self._logout(scope, receive, send, method)
            return
        if path.rstrip("/") == MONITORING:
            await refuse(
                send,
                path,
                404,
                "The monitoring page is turned off on this server; an admin can read /monitoring/summary.",
                code="not_found",
            )
            return
        if path.startswith(MONITORING + "/") and self.login_required:
            user = await session_user(scope)
            if user is None:
                await refuse(send, path, 401, "Log in as an admin to read the monitoring summary.")
                return
            if not await self.is_admin(user):
                log_refused("monitoring for a non-admin", path=path, user=user)
                await refuse(send, path, 403, "Only an admin may read the monitoring summary.")
                return
        elif self.login_required and _under(path, LOGIN_PATHS) and await session_user(scope) is None:
            await refuse(send, path, 401, "Log in first: open the app's page and log in.")
            return
        await self.app(scope, receive, send)

    async def _logout(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        headers = Headers(scope=scope)
        from_own_page = (
            headers.get("sec-fetch-site") == "same-origin" and headers.get("sec-fetch-mode") == "navigate"
        )
        if method == "POST" or (method == "GET" and from_own_page):
            # Gradio's logout route is a GET; a POST that passed the origin checks is handed to it as one
            await self.app({**scope, "method": "GET", "query_string": b""}, receive, send)
            return
        if method not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        await send_whole(send, 200, LOGOUT_PAGE, b"text/html; charset=utf-8", head=method == "HEAD")
