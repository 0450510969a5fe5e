"""What every handler shares: the acting user from the request, errors turned into messages."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from alignment.errors import AlignError
from assistant.app import AppService
from assistant.decisions.messages import for_people
from profiles.schemas import Actor

__all__ = ["acting", "guarded", "session_token"]

F = TypeVar("F", bound=Callable[..., Any])
_LOG = logging.getLogger("align.app")


def acting(app: AppService, request: gr.Request | None) -> Actor:
    """The logged-in user (``request.username``), or the local admin in local mode."""
    username = getattr(request, "username", None) if request is not None else None
    return app.actor(username)


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


def guarded(fn: F) -> F:
    """An AlignError becomes a ``gr.Error`` with its message in words for a person (shown in the UI,
    sent to API clients; no command-line flag); any other failure becomes one too (``_unexpected``)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except AlignError as exc:
                raise gr.Error(for_people(str(exc)), print_exception=False) from None
            except gr.Error:
                raise
            except Exception as exc:
                raise _unexpected(exc) from None

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AlignError as exc:
            raise gr.Error(for_people(str(exc)), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as exc:
            raise _unexpected(exc) from None

    return wrapper  # type: ignore[return-value]
