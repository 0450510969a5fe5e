"""What every handler shares: the acting user from the request, errors turned into messages."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from alignment.errors import AlignError
from assistant.app import AppService
from assistant.app.messages import for_people
from profiles.schemas import Actor

__all__ = ["acting", "guarded"]

F = TypeVar("F", bound=Callable[..., Any])


def acting(app: AppService, request: gr.Request | None) -> Actor:
    """The logged-in user (``request.username``), or the local admin in local mode."""
    username = getattr(request, "username", None) if request is not None else None
    return app.actor(username)


def guarded(fn: F) -> F:
    """An AlignError becomes a ``gr.Error`` with its message in words for a person (shown in the UI,
    sent to API clients; no command-line flag)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except AlignError as exc:
                raise gr.Error(for_people(str(exc)), print_exception=False) from None

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AlignError as exc:
            raise gr.Error(for_people(str(exc)), print_exception=False) from None

    return wrapper  # type: ignore[return-value]
