"""A turn whose asker has gone away: the web layer marks it, the chat engine and the decision log check.

A caller that hangs up (a dropped ``/v1`` stream, a closed page or ``gradio_client`` of the web app)
cannot stop a decision in the middle of a model call, but what the turn does next is for nobody:
``asking`` marks the thread that computes the turn with what tells that the asker is gone (``/v1``: a
``threading.Event`` it sets on disconnect; the web app: a check of Gradio's event, ``ui.caller``), and
``check`` (called between steps, before each model call through ``checked``, and before a decision is
logged) raises ``TurnCancelled`` once it says so, so the turn stops at its next model call and nothing
is logged or stored for it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeAlias, TypeVar

from alignment.backbone import Backbone, GenerationRequest, GenerationResult, call_check

__all__ = ["Gone", "TurnCancelled", "asking", "check", "checked", "in_turn"]

T = TypeVar("T")

Gone: TypeAlias = threading.Event | Callable[[], bool]  # set, or answering True, once the asker went away
_gone: ContextVar[Callable[[], bool] | None] = ContextVar("align_turn_gone", default=None)


class TurnCancelled(Exception):
    """The person who asked went away before the turn ended."""


@contextlib.contextmanager
def asking(gone: Gone) -> Iterator[None]:
    """Within this block, ``check`` raises once ``gone`` is set (or answers True)."""
    token = _gone.set(gone.is_set if isinstance(gone, threading.Event) else gone)
    try:
        yield
    finally:
        _gone.reset(token)


def in_turn(gone: Gone, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` run within ``asking(gone)`` (for a worker thread)."""
    with asking(gone):
        return fn(*args)


def check() -> None:
    """Raise ``TurnCancelled`` when the asker of the running turn has gone away."""
    gone = _gone.get()
    if gone is not None and gone():
        raise TurnCancelled("the asker went away")


class _Checked(Backbone):
    """``backbone`` whose every call first checks that the asker is still there."""

    def __init__(self, backbone: Backbone) -> None:
        self.inner = backbone
        self.name = backbone.name
        self.capabilities = backbone.capabilities

    def execute(self, request: GenerationRequest) -> GenerationResult:
        check()
        # and again once the call's turn at the model comes (a backbone's lock, its model thread)
        token = call_check.set(check)
        try:
            return self.inner.execute(request)
        finally:
            call_check.reset(token)


def checked(backbone: Backbone) -> Backbone:
    """``backbone`` for one turn: a call once its asker has gone away raises ``TurnCancelled``."""
    return _Checked(backbone)
