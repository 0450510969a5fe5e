"""How many API requests run at once, and how many may wait: the limits of Gradio's queue for ``/v1``,
and each user's fair share of them.

``align serve`` runs at most ``--concurrency`` requests of one kind at once and lets ``max_queue`` more
wait; past that a caller is told the server is busy (HTTP 503) instead of piling up. ``ApiGate``
does the same for the OpenAI-compatible API, and also holds each user to ``per_user`` requests
running or waiting at once (``UserShareUsed``: the API answers 429 to that user alone), so one key
holder cannot fill the waiting line and keep everyone else out. Of those, at most ``running_per_user``
(``running_share``: half the slots, at least one) run at once; the user's others wait in line, so one
user's slow requests always leave slots for everyone else. A ``Lease`` is given back once, however the
request ends (answered, failed, or the caller went away).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

__all__ = ["ApiGate", "Busy", "Lease", "UserShareUsed", "running_share"]


def running_share(concurrency: int) -> int:
    """How many of ``concurrency`` slots one user's requests may hold at once: half, at least one.
    The one rule of both doors: ``/v1`` (``ApiGate``) and the web app's queue (``queue_running``)."""
    return max(1, concurrency // 2)


class Busy(Exception):
    """Every slot is taken and the waiting line is full."""


class UserShareUsed(Exception):
    """This user already has their share of requests running or waiting."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} requests of this user are already running or waiting")
        self.limit = limit


class Lease:
    """One running request's slot; ``release`` is idempotent."""

    def __init__(self, semaphore: anyio.Semaphore, done: Callable[[], None] | None = None) -> None:
        self._semaphore: anyio.Semaphore | None = semaphore
        self._done = done

    @property
    def released(self) -> bool:
        return self._semaphore is None

    def release(self) -> None:
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()
            if self._done is not None:
                self._done()


class ApiGate:
    def __init__(self, concurrency: int, max_waiting: int, per_user: int | None = None) -> None:
        if concurrency < 1 or max_waiting < 0 or (per_user is not None and per_user < 1):
            raise ValueError("concurrency and per_user must be at least 1 and max_waiting at least 0")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.per_user = per_user
        self.running_per_user = running_share(concurrency)
        self._semaphore: anyio.Semaphore | None = None  # made on the server's event loop
        self.waiting = 0
        self._users: dict[str, int] = {}  # requests running or waiting, per user (event loop only)
        self._running: dict[str, anyio.Semaphore] = {}  # each user's running share (event loop only)

    @property
    def running(self) -> int:
        return 0 if self._semaphore is None else self.concurrency - self._semaphore.value

    def held(self, user: str) -> int:
        """``user``'s requests running or waiting now."""
        return self._users.get(user, 0)

    def _leave(self, user: str) -> None:
        left = self._users.get(user, 0) - 1
        if left > 0:
            self._users[user] = left
        else:
            self._users.pop(user, None)
            self._running.pop(user, None)

    async def enter(self, user: str | None = None) -> Lease:
        """A slot, once one is free and ``user`` runs fewer than ``running_per_user`` requests; ``Busy``
        at once when the waiting line is full, and ``UserShareUsed`` when ``user`` already holds
        ``per_user`` slots or places in the line."""
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.concurrency)
        semaphore = self._semaphore
        if user is not None and self.per_user is not None and self.held(user) >= self.per_user:
            raise UserShareUsed(self.per_user)
        share = self._running.get(user) if user is not None else None
        must_wait = semaphore.value == 0 or (share is not None and share.value == 0)
        if must_wait and self.waiting >= self.max_waiting:
            raise Busy
        if user is not None and share is None:
            share = self._running[user] = anyio.Semaphore(self.running_per_user)
        if user is not None:
            self._users[user] = self.held(user) + 1
        self.waiting += 1
        got_share = False
        try:
            if share is not None:
                await share.acquire()
                got_share = True
            await semaphore.acquire()
        except BaseException:
            if share is not None and got_share:
                share.release()
            if user is not None:
                self._leave(user)
            raise
        finally:
            self.waiting -= 1
        if user is None or share is None:
            return Lease(semaphore)
        user_share = share

        def done() -> None:
            user_share.release()
            self._leave(user)

        return Lease(semaphore, done)
