"""A turn whose asker has gone away: the web layer marks it, the chat engine and the decision log check.

A caller that hangs up (a dropped ``/v1`` stream) cannot stop a decision in the middle of a model call,
but what the turn does next is for nobody: ``asking`` marks the thread that computes the turn with a
``threading.Event`` the web layer sets on disconnect, and ``check`` (called between steps, before each
model call through ``checked``, and before a decision is logged) raises ``TurnCancelled`` once it is
set, so the turn stops at its next model call and nothing is logged or stored for it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from alignment.backbone import Backbone, GenerationRequest, GenerationResult

__all__ = ["TurnCancelled", "asking", "check", "checked", "in_turn"]

T = TypeVar("T")

_gone: ContextVar[threading.Event | None] = ContextVar("align_turn_gone", default=None)


class TurnCancelled(Exception):
    """The person who asked went away before the turn ended."""


@contextlib.contextmanager
def asking(gone: threading.Event) -> Iterator[None]:
    """Within this block, ``check`` raises once ``gone`` is set."""
    token = _gone.set(gone)
    try:
        yield
    finally:
        _gone.reset(token)


def in_turn(gone: threading.Event, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` run within ``asking(gone)`` (for a worker thread)."""
    with asking(gone):
        return fn(*args)


def check() -> None:
    """Raise ``TurnCancelled`` when the asker of the running turn has gone away."""
    gone = _gone.get()
    if gone is not None and gone.is_set():
        raise TurnCancelled("the asker went away")


class _Checked(Backbone):
    """``backbone`` whose every call first checks that the asker is still there."""

    def __init__(self, backbone: Backbone) -> None:
        self.inner = backbone
        self.name = backbone.name
        self.capabilities = backbone.capabilities

    def execute(self, request: GenerationRequest) -> GenerationResult:
        check()
        return self.inner.execute(request)


def checked(backbone: Backbone) -> Backbone:
    """``backbone`` for one turn: a call once its asker has gone away raises ``TurnCancelled``."""
    return _Checked(backbone)
