"""Edit an HTML page (or another text) on its way out: a ``send`` wrapper for ASGI middleware.

Only uncompressed responses of the content types asked for (``text/html`` unless told) are held back
(Gradio's pages are a few kB; the compression middleware runs outside ours); everything else, event
streams and files included, passes through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Send

__all__ = ["edit_html"]


def edit_html(
    send: Send,
    edit: Callable[[str], str],
    wanted: Callable[[], Awaitable[bool]] | None = None,
    *,
    kinds: tuple[str, ...] = ("text/html",),
) -> Send:
    """A ``send`` that hands the whole body of an HTML response (a response whose content type starts
    with one of ``kinds``) to ``edit`` before sending it.

    ``wanted()``: asked once such a response starts (not for other responses); False sends the page
    as it is."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            edited = headers.get("content-type", "").startswith(kinds)
            if edited and not headers.get("content-encoding") and (wanted is None or await wanted()):
                start = message
                return
            await send(message)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        raw = b"".join(chunks)
        if not raw:  # HEAD, or an empty page: nothing to edit, the declared length stays
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        body = edit(raw.decode("utf-8", errors="replace")).encode("utf-8")
        headers = MutableHeaders(scope=start)
        headers["content-length"] = str(len(body))
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return wrapped
