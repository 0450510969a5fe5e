"""The login page tells a stranger nothing about the API.

Gradio renders every page, the login page too, with ``window.gradio_api_info`` (all endpoints,
their parameters and types) while ``/gradio_api/info`` itself answers 401 without login. For a
caller with no session this middleware replaces that object with an empty description in any HTML
page (empty, not missing: Gradio's page would otherwise fetch it from a wrong URL); after login the
page is sent whole.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.web.html import edit_html
from assistant.web.session import session_user

__all__ = ["AUTH_MESSAGE", "EMPTY", "HideApiInfo", "hide_api_info"]

AUTH_MESSAGE = "Log in with your ALIGN assistant user name and password."  # above the login form

# Gradio writes the object with every "<" escaped (its ``toorjson`` filter): it holds no "<"
_API_INFO = re.compile(r"window\.gradio_api_info\s*=\s*[^<]*?;?\s*(?=</script>)")


EMPTY = 'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};'


def hide_api_info(page: str) -> str:
    return _API_INFO.sub(EMPTY, page)


class HideApiInfo:
    """ASGI middleware: ``hide_api_info`` on HTML pages sent to callers without a session."""

    def __init__(self, app: ASGIApp, *, login_required: bool = True) -> None:
        self.app = app
        self.login_required = login_required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.login_required:
            await self.app(scope, receive, send)
            return

        async def anonymous() -> bool:  # asked for HTML pages only (no session lookup per asset)
            return await session_user(scope) is None

        await self.app(scope, receive, edit_html(send, hide_api_info, anonymous))
