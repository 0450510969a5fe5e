"""What every handler shares: the acting user from the request, errors turned into messages.

``guarded`` turns a failure into one ``gr.Error`` (for the API endpoints, and UI handlers with one
output). A UI handler with several outputs uses ``shown_once``: ``gr.Error`` would put a red "Error"
badge on every output (a form covered by them, its clicks blocked); the failure shows instead as one
warning, in the handler's status output when it has one, and every output keeps its value.
"""

from __future__ import annotations

import functools
import html
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr
from pydantic import ValidationError

from alignment.errors import AlignError, InputError
from assistant.app import AppService
from assistant.decisions import cancel
from assistant.decisions.messages import for_people, validation_message
from profiles.schemas import Actor
from ui.caller import held

__all__ = ["acting", "guarded", "json_text", "session_token", "shown_once", "whole_number"]

F = TypeVar("F", bound=Callable[..., Any])
_DONE = object()  # a generator handler's end
_LOG = logging.getLogger("align.app")


def acting(app: AppService, request: gr.Request | None) -> Actor:
    """The logged-in user (``request.username``), or the local admin in local mode."""
    username = getattr(request, "username", None) if request is not None else None
    return app.actor(username)


_SHOWN_UP_TO = 10**15


def whole_number(value: float | None, low: int, high: int, what: str, default: int) -> int:
    """A number box's value as a whole number from ``low`` to ``high`` (empty: ``default``), or an
    InputError in words. The boxes set no minimum or maximum: Gradio would refuse such a value
    before the handler runs, with its own words and an "Error" badge on every output."""
    if value is None:
        return default
    asked = f"give {what} as a whole number from {low} to {high}"
    try:
        whole: int | None = int(value)
    except (OverflowError, ValueError):  # infinity, or not a number
        whole = None
    if whole is not None and abs(whole) > _SHOWN_UP_TO:  # (its digits would not fit a message)
        raise InputError(f"{what} is too large a number; {asked}")
    if whole is None or value != whole or not low <= whole <= high:
        raise InputError(f"{asked} (not {value:g})")
    return whole


_JSON_KINDS = {dict: "an object", list: "a list", bool: "true or false", int: "a number", float: "a number"}


def json_text(text: Any, what: str) -> Any:
    """The JSON a caller wrote in a code box (``what``: "the definition"), parsed; or an InputError in
    words. Through the API a caller may send anything in the box's place: nothing, an object, a number;
    each is refused as such, never as Python's TypeError."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise InputError(f"{what} is empty; write it as JSON text")
    if not isinstance(text, str):
        kind = _JSON_KINDS.get(type(text), "not text")
        raise InputError(f"{what} must be JSON text, written out as a string (this was {kind})")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{what} is not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply; use fewer brackets inside brackets") from None


def session_token(request: gr.Request | None) -> str | None:
    """The caller's login session token (Gradio's ``access-token-*`` cookie), or None."""
    try:
        cookies = dict(getattr(request, "cookies", None) or {}) if request is not None else {}
    except Exception:
        return None
    for key, value in cookies.items():
        if str(key).startswith("access-token-") and value:
            return str(value)
    return None


def _unexpected(exc: Exception) -> gr.Error:
    """Any other failure still reaches the caller as an error with a message (its traceback goes to
    the server's output)."""
    _LOG.error("a request failed: %s", type(exc).__name__, exc_info=exc)
    detail = str(exc).strip()[:500]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return gr.Error(
        for_people(
            f"the server could not answer this request ({what}); try again, and tell the "
            "operator if it keeps happening"
        ),
        print_exception=False,
    )


def _as_error(exc: Exception) -> gr.Error:
    """A failure as the one ``gr.Error`` a person reads: an AlignError's message, a request that does
    not fit its schema as one sentence (``validation_message``), anything else ``_unexpected``."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, cancel.TurnCancelled):  # nobody reads it: one line in the server's output
        _LOG.warning("stopped a request whose caller went away: nothing of it is logged or stored")
        return gr.Error("you went away before the answer was ready; ask again", print_exception=False)
    if isinstance(exc, AlignError):
        return gr.Error(for_people(str(exc)), print_exception=False)
    if isinstance(exc, ValidationError):
        return gr.Error(for_people(validation_message(exc)), print_exception=False)
    return _unexpected(exc)


def guarded(fn: F) -> F:
    """An AlignError becomes a ``gr.Error`` with its message in words for a person (shown in the UI,
    sent to API clients; no command-line flag); any other failure becomes one too (``_as_error``).
    The handler runs within ``cancel.asking``: once its caller has gone away or cancelled it
    (``ui.caller``), a chat turn or a decision stops at its next step and nothing of it is logged or
    stored; until it returns it counts in its user's share (``ui.caller.held``)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            with held() as gone:
                steps = fn(*args, **kwargs)
                try:
                    while True:  # each step within asking: Gradio runs each in a fresh context
                        with cancel.asking(gone):
                            step = next(steps, _DONE)
                        if step is _DONE:
                            return
                        yield step
                except gr.Error:
                    raise
                except Exception as exc:
                    raise _as_error(exc) from None
                finally:
                    steps.close()

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with held() as gone, cancel.asking(gone):
                return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            raise _as_error(exc) from None

    return wrapper  # type: ignore[return-value]


def _message_of(exc: gr.Error) -> str:
    return str(getattr(exc, "message", "") or exc)


def shown_once(outputs: int, status: int | None = None) -> Callable[[F], F]:
    """For a UI handler with ``outputs`` outputs: a failure is one warning (its words also go to
    output ``status`` when given) and leaves the other outputs as they were, instead of a ``gr.Error``
    badge on each of them. The handler is ``guarded`` first, so the words are the same."""

    def unchanged(message: str) -> Any:
        gr.Warning(html.escape(message), title="Please check")  # the toast renders HTML
        updates: list[Any] = [gr.update() for _ in range(outputs)]
        if status is not None:
            updates[status] = gr.update(value=f"**Please check:** {message}")
        return updates if outputs > 1 else updates[0]  # one output: its value, not a list

    def decorate(fn: F) -> F:
        inner = guarded(fn)
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    yield from inner(*args, **kwargs)
                except gr.Error as exc:
                    yield unchanged(_message_of(exc))

            return gen_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return inner(*args, **kwargs)
            except gr.Error as exc:
                return unchanged(_message_of(exc))

        return wrapper  # type: ignore[return-value]

    return decorate
