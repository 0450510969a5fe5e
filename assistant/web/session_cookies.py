"""The login cookie cannot be planted by another site on the same domain (cookie tossing).

A page on a sibling host (``evil.example.org`` next to ``app.example.org``) or on another port of the
same host may set a cookie for the whole domain. With Gradio's plain cookie name
(``access-token-<id>``) the browser then sends two cookies of that name, and the server took the last
one: the victim's tab acted as the attacker's account (forced login). ``SessionCookies``:

- over HTTPS (the request's scheme, or a trusted proxy's ``X-Forwarded-Proto``), renames the session
  cookies Gradio sets to ``__Host-access-token-<id>`` on the way out (``Path=/; Secure``, no
  ``Domain``: a browser accepts such a cookie only from this very host, over HTTPS) and back on the
  way in; plain session cookies are then ignored (dropped from the ``Cookie`` header);
- on any scheme, when the session cookie comes more than once (the same name twice, or its variants
  with different values), drops them all: the request is not logged in. Gradio's API routes answer
  401 saying so; other requests (pages, the login form) go on logged out. Either way the reply
  expires those cookies (for this host and its parent domains) so the browser recovers at the next
  login.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.credentials import SESSION_COOKIE_PREFIX, harden_cookie
from assistant.web.refusal import refuse

__all__ = ["HOST_PREFIX", "TWICE_MESSAGE", "SessionCookies", "expiring_cookies", "parse_cookie_pairs"]

HOST_PREFIX = "__Host-"
UNSECURE = "unsecure-"
API_PREFIX = "/gradio_api/"
TWICE_MESSAGE = "Your login cookie was set twice, possibly by another site; log in again."


def parse_cookie_pairs(header: str) -> list[tuple[str, str]]:
    """Every ``name=value`` of a ``Cookie`` header, in order, duplicates kept (as Starlette splits it)."""
    pairs: list[tuple[str, str]] = []
    for chunk in header.split(";"):
        if "=" in chunk:
            name, value = chunk.split("=", 1)
        else:
            name, value = "", chunk
        name, value = name.strip(), value.strip()
        if name or value:
            pairs.append((name, value))
    return pairs


def _session_id(name: str) -> tuple[str, bool] | None:
    """(cookie id, has the ``__Host-`` prefix) for a session cookie name, else None."""
    prefixed = name.startswith(HOST_PREFIX)
    bare = name.removeprefix(HOST_PREFIX)
    if not bare.startswith(SESSION_COOKIE_PREFIX):
        return None
    rest = bare.removeprefix(SESSION_COOKIE_PREFIX)
    return rest.removeprefix(UNSECURE), prefixed


def _parent_domains(host: str) -> list[str]:
    """``a.b.example.org`` -> itself, ``b.example.org``, ``example.org`` (none for an address or a
    single label such as ``localhost``)."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else ""
    labels = [label for label in name.strip(".").split(".") if label]
    if len(labels) < 2 or all(label.isdigit() for label in labels):
        return []
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def expiring_cookies(cookie_id: str, host: str) -> list[bytes]:
    """``Set-Cookie`` values that expire every variant of the session cookie, for this host and the
    parent domains a sibling site could have set it on."""
    out: list[bytes] = []
    for name in (f"{SESSION_COOKIE_PREFIX}{cookie_id}", f"{SESSION_COOKIE_PREFIX}{UNSECURE}{cookie_id}"):
        out.append(f"{name}=; Max-Age=0; Path=/".encode("latin-1"))
        for domain in _parent_domains(host):
            out.append(f"{name}=; Max-Age=0; Path=/; Domain={domain}".encode("latin-1"))
        out.append(f"{HOST_PREFIX}{name}=; Max-Age=0; Path=/; Secure".encode("latin-1"))
    return out


def _host_cookie(set_cookie: str) -> str:
    """A session ``Set-Cookie`` as a ``__Host-`` cookie: ``Path=/``, ``Secure``, no ``Domain``."""
    hardened = harden_cookie(set_cookie, secure=True)
    parts = [p.strip() for p in hardened.split(";")]
    kept = [p for p in parts[1:] if p.split("=", 1)[0].strip().lower() not in ("domain", "path")]
    return "; ".join([HOST_PREFIX + parts[0].lstrip(), *kept, "Path=/"])


class SessionCookies:
    """ASGI middleware: the rules of the module docstring. Put it outside everything that reads the
    login cookie (Gradio, the routes' guards, the session binding)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get("app")
        cookie_id = getattr(app, "cookie_id", None)
        if scope["type"] != "http" or not isinstance(cookie_id, str):
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        headers = list(scope.get("headers", []))
        cookie_header = "; ".join(v.decode("latin-1") for k, v in headers if k.lower() == b"cookie")
        pairs = parse_cookie_pairs(cookie_header)
        others: list[tuple[str, str]] = []
        ours: list[tuple[str, str, bool]] = []  # name, value, __Host- prefixed
        for name, value in pairs:
            found = _session_id(name)
            if found is not None and found[0] == cookie_id:
                ours.append((name, value, found[1]))
            else:
                others.append((name, value))
        names = [name for name, _, _ in ours]
        twice = len(names) != len(set(names)) or len({value for _, value, _ in ours}) > 1
        token: str | None = None
        if ours and not twice:
            if secure:
                token = next((value for _, value, prefixed in ours if prefixed), None)
            else:
                token = next((value for _, value, prefixed in ours if not prefixed), None)
        if ours:
            kept = others + ([(f"{SESSION_COOKIE_PREFIX}{cookie_id}", token)] if token else [])
            rebuilt = "; ".join(f"{n}={v}" if n else v for n, v in kept).encode("latin-1")
            headers = [(k, v) for k, v in headers if k.lower() != b"cookie"]
            if rebuilt:
                headers.append((b"cookie", rebuilt))
            scope = {**scope, "headers": headers}
        path = str(scope.get("path", ""))
        expire: list[bytes] = []
        if twice:
            host = next((v.decode("latin-1") for k, v in headers if k.lower() == b"host"), "")
            expire = expiring_cookies(cookie_id, host)
            log_refused("login cookie set twice", path=path)
            if path.startswith(API_PREFIX):
                await refuse(send, path, 401, TWICE_MESSAGE, headers=[(b"set-cookie", v) for v in expire])
                return
        await self.app(scope, receive, self._outgoing(send, cookie_id, secure, expire))

    @staticmethod
    def _outgoing(send: Send, cookie_id: str, secure: bool, expire: list[bytes]) -> Send:
        session_names = (
            f"{SESSION_COOKIE_PREFIX}{cookie_id}=",
            f"{SESSION_COOKIE_PREFIX}{UNSECURE}{cookie_id}=",
        )

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                out: list[tuple[bytes, bytes]] = [(b"set-cookie", value) for value in expire]
                for key, value in message.get("headers", []):
                    if secure and key.lower() == b"set-cookie":
                        text = value.decode("latin-1")
                        if text.lstrip().startswith(session_names):
                            value = _host_cookie(text).encode("latin-1")
                    out.append((key, value))
                message = {**message, "headers": out}
            await send(message)

        return wrapped
