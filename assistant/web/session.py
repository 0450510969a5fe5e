"""Who is logged in on a request, the way Gradio decides it (its session cookie), for code that runs
outside Gradio's routes (middleware, our own routes)."""

from __future__ import annotations

import inspect
import ipaddress
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

__all__ = ["is_loopback", "session_user"]


async def session_user(scope: Scope) -> str | None:
    """The user name of the request's Gradio session, or None (no cookie, unknown or ended session).

    Mirrors Gradio's ``get_current_user``: its ``auth_dependency`` when one is set, else the
    ``access-token-<cookie id>`` cookie looked up in the app's live tokens.
    """
    app: Any = scope.get("app")
    if app is None:
        return None
    connection = Request(scope)
    dependency = getattr(app, "auth_dependency", None)
    if dependency is not None:
        user = dependency(connection)
        if inspect.isawaitable(user):
            user = await user
        return str(user) if user else None
    tokens = getattr(app, "tokens", None)
    cookie_id = getattr(app, "cookie_id", None)
    if tokens is None or not hasattr(tokens, "get") or cookie_id is None:
        return None
    cookies = connection.cookies
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    user = tokens.get(token) if token else None
    return str(user) if user else None


def is_loopback(scope: Scope) -> bool:
    """A caller on this machine that no proxy forwarded (a proxy adds X-Forwarded-For / Forwarded)."""
    client = scope.get("client")
    if not client:
        return False
    try:
        loopback = ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False
    forwarded = any(key.lower() in (b"x-forwarded-for", b"forwarded") for key, _ in scope.get("headers", []))
    return loopback and not forwarded
