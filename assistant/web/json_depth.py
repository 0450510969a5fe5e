"""JSON nested too deeply is refused before anything parses it.

Python's ``json`` parser recurses once per level: a small body such as ``"[" * 3000 + "]" * 3000``
made Gradio's routes and ``/v1`` fail with an internal error (and a traceback in the log). ``JsonDepth``
scans the body of the JSON endpoints (``assistant.web.json_only.JSON_PATHS``) for its deepest
nesting, brackets inside strings not counted, and answers 400 above ``MAX_DEPTH`` levels: far above
what the app itself accepts (its own rule refuses more than 12 levels with a message of its own).
Put it inside the body limit: it reads the body, which that limit bounds.

The scan reads UTF-8 only: a body that is not valid UTF-8, or holds a NUL byte (UTF-16 or UTF-32,
which Python's parser also accepts), is refused with 400 (RFC 8259: JSON between systems is UTF-8),
so a text the scan cannot read never reaches a parser that recurses.
"""

from __future__ import annotations

import re
from itertools import accumulate

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.app.refused import log_refused
from assistant.web.asgi import read_body, replaying
from assistant.web.json_only import takes_json
from assistant.web.refusal import refuse

__all__ = ["MAX_DEPTH", "NOT_UTF8", "TOO_DEEP", "JsonDepth", "is_utf8", "json_depth"]

MAX_DEPTH = 64
TOO_DEEP = f"The request's JSON is nested too deeply (more than {MAX_DEPTH} levels); send a flatter request."
NOT_UTF8 = "The request's JSON is not UTF-8 text; send the JSON as UTF-8."
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in a JSON text, brackets inside strings not counted
    (an invalid text gives some number; the parser refuses it anyway)."""
    if body.count(b"[") + body.count(b"{") == 0:
        return 0
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def is_utf8(body: bytes) -> bool:
    """Whether ``body`` is UTF-8 without NUL bytes (valid JSON in UTF-8 never holds one; UTF-16 and
    UTF-32 texts do, even when every character is ASCII)."""
    if b"\x00" in body:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class JsonDepth:
    """ASGI middleware: 400 for a JSON body nested more than ``max_depth`` levels, or not UTF-8."""

    def __init__(self, app: ASGIApp, *, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        writes = scope.get("method") in ("POST", "PUT", "PATCH")
        if scope["type"] != "http" or not writes or not takes_json(path):
            await self.app(scope, receive, send)
            return
        body, replay = await read_body(receive)
        if not is_utf8(body):
            log_refused("JSON not UTF-8", path=path)
            await refuse(send, path, 400, NOT_UTF8, code="json_not_utf8")
            return
        if body.count(b"[") + body.count(b"{") > self.max_depth and json_depth(body) > self.max_depth:
            log_refused("JSON nested too deeply", path=path)
            await refuse(send, path, 400, TOO_DEEP, code="json_too_deep")
            return
        await self.app(scope, replaying(replay, receive), send)
