"""Gradio's session hashes belong to the login that first used them.

Gradio keys a page's queue, its event stream (``/gradio_api/queue/data?session_hash=H``), its
heartbeat and its state (``gr.State``) by a *session hash* the page makes up, and never checks who
asks: anyone who learnt H could read that page's results, cancel its work, or run handlers in its
state. ``SessionBinding`` records, for each session hash and each event id the app hands out, the user
who first used it, and refuses it (403) to any other user:

- ``session_hash`` in the JSON body of ``queue/join``, ``run``/``api``/``call``, ``cancel``,
  ``component_server`` and ``stream``; in the query of ``queue/data`` (and any GET); in the path of
  ``heartbeat/H`` and of the ``stream/H/...`` media routes;
- the event id in the path of ``stream/EVENT`` and ``stream/EVENT/close``;
- the ``event_id`` a ``call``/``queue/join`` reply hands out (``call/NAME/EVENT`` reads it back; an
  event joined without a session hash has its id as session hash).

The keys are read the way Gradio reads them (the last of repeated query parameters, the last of
repeated JSON keys); a request that names its ``session_hash`` or ``event_id`` twice, in the query or
as a repeated key of the JSON body, is refused (400), so no check and Gradio can read different ones.

A key longer than ``MAX_KEY_CHARS`` is refused (400): no page makes one, and the server would keep it.
Only in login mode: local mode has one user. The record is bounded (the oldest entries go first).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.asgi import read_body, replaying
from assistant.web.refusal import refuse
from assistant.web.session import session_user

__all__ = ["MAX_BINDINGS", "Bindings", "SessionBinding"]

MAX_BINDINGS = 100_000
_BODY_PATHS = (
    "/gradio_api/queue/join",
    "/gradio_api/run/",
    "/gradio_api/api/",
    "/gradio_api/call/",
    "/gradio_api/cancel",
    "/gradio_api/component_server",
    "/gradio_api/stream/",
)
_REPLY_PATHS = ("/gradio_api/queue/join", "/gradio_api/call/")
_MAX_REPLY_BYTES = 4096
_UNSET = object()
_NAMED = ("session_hash", "event_id")
MAX_KEY_CHARS = 128  # Gradio's pages make ids of ~11 characters, gradio_client a uuid (36): one far
# longer is no page's, and would be kept in the server's session tables


class Bindings:
    """session hash or event id -> user name; the first user to name a key owns it."""

    def __init__(self, capacity: int = MAX_BINDINGS) -> None:
        self._owners: OrderedDict[str, str | None] = OrderedDict()
        self._capacity = capacity

    def claim(self, key: str, user: str | None) -> bool:
        """True if ``user`` may use ``key`` (it is theirs, or nobody's yet: now theirs)."""
        owner = self._owners.get(key, _UNSET)
        if owner is _UNSET:
            self._owners[key] = user
            while len(self._owners) > self._capacity:
                self._owners.popitem(last=False)
            return True
        return owner == user

    def owner(self, key: str) -> str | None:
        """The user ``key`` belongs to; None if nobody has named it yet."""
        return self._owners.get(key)


class Repeated(ValueError):
    """A request names its session hash or event id more than once (``what``: which)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _query_keys(query: bytes) -> dict[str, str]:
    """``session_hash`` and ``event_id`` of a query string, read as Starlette (and so Gradio) reads
    them; ``Repeated`` when one comes twice (Gradio would take the last, a check here the first)."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in _NAMED:
            if name in found:
                raise Repeated(name)
            found[name] = value
    return found


def _key_from_path(path: str, method: str) -> str | None:
    if method == "GET" and path.startswith("/gradio_api/heartbeat/"):
        return path.removeprefix("/gradio_api/heartbeat/").strip("/") or None
    if path.startswith("/gradio_api/stream/"):  # POST stream/EVENT(/close); GET stream/SESSION_HASH/...
        return path.removeprefix("/gradio_api/stream/").split("/", 1)[0] or None
    if method == "GET" and path.startswith("/gradio_api/call/"):
        parts = path.removeprefix("/gradio_api/call/").strip("/").split("/")
        if parts and parts[0] == "v2":
            parts = parts[1:]
        return parts[1] if len(parts) == 2 else None  # call/NAME/EVENT_ID
    return None


class _Object(dict[str, Any]):
    """A JSON object that remembers which of its keys came more than once."""

    repeated: set[str]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)  # the last value of a repeated key, as json.loads (and Gradio) keeps it
    result.repeated = set()
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                result.repeated.add(key)
            seen.add(key)
    return result


def _session_hash(body: bytes) -> str | None:
    """The ``session_hash`` of a JSON body as Gradio reads it; ``Repeated`` when the body names its
    ``session_hash`` or ``event_id`` twice."""
    try:
        data: Any = json.loads(body, object_pairs_hook=_object)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, _Object):
        return None
    for name in _NAMED:
        if name in data.repeated:
            raise Repeated(name)
    value = data.get("session_hash")
    return value if isinstance(value, str) and value else None


class SessionBinding:
    """ASGI middleware: the rules of the module docstring. Put it inside the body limit (it reads the
    JSON body of the routes above, which that limit bounds)."""

    def __init__(self, app: ASGIApp, *, login_required: bool, bindings: Bindings | None = None) -> None:
        self.app = app
        self.login_required = login_required
        self.bindings = bindings or Bindings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.login_required:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        method = str(scope.get("method", "GET")).upper()
        keys: list[str] = []
        replay: list[Message] = []
        try:
            gradio = path.startswith("/gradio_api/")
            query = _query_keys(scope.get("query_string", b"")) if gradio else {}
            if method == "GET" and query.get("session_hash"):
                keys.append(query["session_hash"])
            key = _key_from_path(path, method)
            if key:
                keys.append(key)
            if method == "POST" and path.startswith(_BODY_PATHS):
                body, replay = await read_body(receive)
                session_hash = _session_hash(body)
                if session_hash:
                    keys.append(session_hash)
        except Repeated as exc:
            log_refused(f"{exc.what} given twice", path=path)
            await refuse(
                send,
                path,
                400,
                f"The request names its {exc.what} more than once; send it once. (Reload the page if "
                "this came from the app's own page.)",
                code="repeated_parameter",
            )
            return
        if any(len(key) > MAX_KEY_CHARS for key in keys):
            log_refused("a session id that is too long", path=path)
            await refuse(
                send,
                path,
                400,
                f"The page session id is longer than {MAX_KEY_CHARS} characters; reload the page to get a "
                "new one.",
                code="session_id_too_long",
            )
            return
        if not keys and not (method == "POST" and path.startswith(_REPLY_PATHS)):
            await self._pass(scope, receive, send, replay)
            return
        user = await session_user(scope)
        if user is None:  # Gradio refuses these routes without a login (heartbeat, cancel: GradioRoutes)
            await self._pass(scope, receive, send, replay)
            return
        for key in keys:
            if not self.bindings.claim(key, user):
                log_refused("another login's session", path=path, user=user or "(none)")
                await refuse(
                    send,
                    path,
                    403,
                    "This page session belongs to another login. Reload the page (and log in) to start "
                    "your own.",
                    code="session_of_another_user",
                )
                return
        if method == "POST" and path.startswith(_REPLY_PATHS):
            send = self._claim_reply(send, user)
        await self._pass(scope, receive, send, replay)

    async def _pass(self, scope: Scope, receive: Receive, send: Send, replay: list[Message]) -> None:
        await self.app(scope, replaying(replay, receive) if replay else receive, send)

    def _claim_reply(self, send: Send, user: str | None) -> Send:
        """A ``send`` that binds the ``event_id`` of a small successful JSON reply to ``user``."""
        state: dict[str, Any] = {"ok": False, "body": b""}

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["ok"] = message.get("status") == 200
            elif message["type"] == "http.response.body" and state["ok"]:
                state["body"] += message.get("body", b"")
                if len(state["body"]) > _MAX_REPLY_BYTES:
                    state["ok"] = False
                elif not message.get("more_body", False):
                    try:
                        event_id = json.loads(state["body"]).get("event_id")
                    except (ValueError, AttributeError, UnicodeDecodeError):
                        event_id = None
                    if isinstance(event_id, str) and event_id:
                        self.bindings.claim(event_id, user)
            await send(message)

        return wrapped
