"""Which web pages may use a person's login on this server: the app's own pages, and the sites an
administrator lists in ``allowed_origins``. Every other page is refused, whatever the host name.

Gradio's own CORS middleware restricts origins only when the server is reached as ``localhost``;
under a real host name it lets any page read replies sent with the user's cookie. ``align serve``
takes it out (``drop_gradio_cors``, from the app's lifespan) and puts ``OriginGuard`` in its place:

- A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here: with CORS
  headers for an allowed origin, with 403 for any other.
- A state-changing request (any method but GET, HEAD, OPTIONS) from a foreign page is refused with
  403 before the app sees it. A browser always says where a POST comes from (``Origin``); when it
  does not, ``Sec-Fetch-Site`` or ``Referer`` tell. A request with none of them does not come from a
  web page (a chat app's server, ``gradio_client``, curl) and is let through: it carries its own
  credentials, never the browser's cookie.
- No reply carries CORS headers except to an allowed origin, so a foreign page reads nothing.

The request's own origin is its ``Host`` header with the request's scheme (a trusted proxy's
``X-Forwarded-Proto``, which uvicorn applies). A page served over HTTPS matches a request that reached
the app over plain HTTP (a TLS proxy in front that is not listed as trusted), never the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.refusal import refuse

__all__ = ["OriginGuard", "OriginPolicy", "Verdict", "drop_gradio_cors", "normal_origin"]

Verdict = Literal["same", "allowed", "foreign", "none"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
_PREFLIGHT_MAX_AGE = "600"


def _split_host(netloc: str) -> tuple[str, int | None] | None:
    """``host[:port]`` (IPv6 in brackets) -> (lower-case host, port or None); None if malformed."""
    netloc = netloc.strip().lower()
    if not netloc or "@" in netloc or "/" in netloc:
        return None
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            return None
        host, rest = netloc[: end + 1], netloc[end + 1 :]
    elif netloc.count(":") > 1:
        return None
    else:
        host, _, port_text = netloc.partition(":")
        rest = ":" + port_text if port_text or netloc.endswith(":") else ""
    if not rest:
        return host, None
    if not rest.startswith(":") or not rest[1:].isdigit():
        return None
    return host, int(rest[1:])


def normal_origin(text: str) -> str | None:
    """``scheme://host[:port]`` in lower case without the scheme's default port, or None when ``text``
    is not an origin (a path, a query, user info, an unknown scheme, ``null``)."""
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    split = _split_host(parts.netloc)
    if split is None:
        return None
    host, port = split
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class OriginPolicy:
    """The app's own origin (per request) plus ``allowed`` (normalised origins)."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, origins: Iterable[str]) -> OriginPolicy:
        normal = {normal_origin(o) for o in origins}
        return cls(frozenset(o for o in normal if o is not None))

    @staticmethod
    def is_own(origin: str, scope: Scope) -> bool:
        """``origin`` (normalised) is the request's own: same host and port, and the same scheme or
        HTTPS towards a plain-HTTP request (TLS ended by a proxy in front)."""
        scheme, _, netloc = origin.partition("://")
        request_scheme = str(scope.get("scheme", "http")).replace("ws", "http")
        if scheme != request_scheme and scheme != "https":
            return False
        page = _split_host(netloc)
        host = _split_host(Headers(scope=scope).get("host", ""))
        if page is None or host is None:
            return False
        default = _DEFAULT_PORTS[scheme]
        return page[0] == host[0] and (page[1] or default) == (host[1] or default)

    def judge(self, origin: str, scope: Scope) -> Verdict:
        normal = normal_origin(origin)
        if normal is None:  # "null" (sandboxed frames, file: pages) and anything malformed
            return "foreign"
        if self.is_own(normal, scope):
            return "same"
        return "allowed" if normal in self.allowed else "foreign"

    def verdict(self, scope: Scope) -> Verdict:
        """Where the request comes from: the app's own page, an allowed site, a foreign page, or no web
        page at all (``none``: no Origin, no Sec-Fetch-Site, no Referer)."""
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None:
            return self.judge(origin, scope)
        site = headers.get("sec-fetch-site")
        if site in ("same-origin", "none"):  # "none": typed in the address bar, a bookmark
            return "same"
        if site is not None:
            return "foreign"  # same-site (a sibling subdomain) or cross-site, with no Origin to allow
        referer = headers.get("referer")
        if referer:
            try:
                parts = urlsplit(referer)
            except ValueError:
                return "foreign"
            return self.judge(f"{parts.scheme}://{parts.netloc}", scope)
        return "none"


def _describe(origin: str | None, allowed: frozenset[str]) -> str:
    where = f"a page on another site ({origin})" if origin else "a page on another site"
    also = f" and from {', '.join(sorted(allowed))}" if allowed else ""
    return (
        f"This request came from {where}. This server takes requests made with your login only from "
        f"its own pages{also}. Open the app at its own address; if that site should be allowed, an "
        "administrator can add it to the allowed_origins setting."
    )


class OriginGuard:
    """ASGI middleware: the origin rules of the module docstring."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.policy = OriginPolicy.of(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        verdict = self.policy.verdict(scope)
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        path = str(scope.get("path", ""))
        if scope["type"] == "websocket":
            if verdict == "foreign":
                log_refused("websocket from a foreign origin", path=path, origin=origin)
                await receive()  # websocket.connect; closing now refuses the handshake (HTTP 403)
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET")).upper()
        if method == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            await self._preflight(scope, send, verdict, origin, headers)
            return
        if method not in SAFE_METHODS and verdict == "foreign":
            log_refused("cross-site request", path=path, method=method, origin=origin)
            await refuse(send, path, 403, _describe(origin, self.policy.allowed), code="cross_site_request")
            return
        cross = origin if verdict == "allowed" and origin is not None else None

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name in {k for k in out if k.startswith("access-control-")}:
                    del out[name]
                if cross is not None:
                    out["Access-Control-Allow-Origin"] = cross
                    out["Access-Control-Allow-Credentials"] = "true"
                    out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, send: Send, verdict: Verdict, origin: str, headers: Headers
    ) -> None:
        path = str(scope.get("path", ""))
        if verdict not in ("allowed", "same"):
            log_refused("cross-site preflight", path=path, origin=origin)
            await refuse(send, path, 403, _describe(origin, self.policy.allowed), code="cross_site_request")
            return
        out: list[tuple[bytes, bytes]] = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", _ALLOW_METHODS.encode()),
            (b"access-control-max-age", _PREFLIGHT_MAX_AGE.encode()),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        requested = headers.get("access-control-request-headers")
        if requested:
            out.append((b"access-control-allow-headers", requested.encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})


def drop_gradio_cors(server_app: Any) -> None:
    """Take Gradio's CORS middleware out of the running app (``OriginGuard`` does its work) and rebuild
    the middleware stack. Called from the app's lifespan, before the first request. Fails loudly if
    Gradio's middleware is not where this Gradio version puts it: serving with it would let any site
    read replies."""
    from gradio.route_utils import CustomCORSMiddleware

    kept = [m for m in server_app.user_middleware if m.cls is not CustomCORSMiddleware]
    if len(kept) == len(server_app.user_middleware):
        raise RuntimeError(
            "Gradio's CORS middleware was not found in the app; this Gradio version is not supported "
            "by align serve's origin checks"
        )
    server_app.user_middleware = kept
    server_app.middleware_stack = server_app.build_middleware_stack()
