"""People first: background work (an evaluation) waits while a person's decision is in flight.

The embedded model runs one call at a time, in the order calls arrive. An evaluation asks it for one
decision after another; a person's decision asked meanwhile would wait behind every evaluation item
that arrived first. ``PeopleFirst`` keeps the count of people's decisions in flight
(``with people.person():`` around each, which ``DecisionService`` does), and background work calls
``people.wait_turn()`` before each of its items: it starts its next item only when no person's
decision is in flight. A person's decision so waits for at most the one evaluation item that was
already running when it came.

Work inside ``with people.background():`` (the evaluation's own decisions) is not counted as a
person's. The mark is a context variable: it follows the thread (and context) that set it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["PeopleFirst"]

_BACKGROUND: ContextVar[bool] = ContextVar("align_background_work", default=False)


class PeopleFirst:
    """The count of people's decisions in flight, and the wait of background work for none."""

    def __init__(self, poll_s: float = 0.25) -> None:
        self._in_flight = 0
        self._changed = threading.Condition()
        self.poll_s = poll_s
        self.waits = 0  # how many times background work waited for a person (for tests and logs)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextmanager
    def person(self) -> Iterator[None]:
        """Around a person's decision (not counted inside ``background()``)."""
        if _BACKGROUND.get():
            yield
            return
        with self._changed:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    @contextmanager
    def background(self) -> Iterator[None]:
        """Around background work: the decisions it asks for are not people's."""
        token = _BACKGROUND.set(True)
        try:
            yield
        finally:
            _BACKGROUND.reset(token)

    def wait_turn(self, check: Callable[[], None] = lambda: None) -> None:
        """Return once no person's decision is in flight. ``check()`` runs first and every
        ``poll_s`` while waiting; it raises to stop the wait (the caller went away)."""
        waited = False
        while True:
            check()
            with self._changed:
                if self._in_flight == 0:
                    break
                waited = True
                self._changed.wait(self.poll_s)
        if waited:
            self.waits += 1
