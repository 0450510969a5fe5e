"""What one user's chat turns and decisions may cost, whichever door they come through: requests per
minute (one ``UserRate`` for the whole server, shared by ``/v1``, the named endpoints and the web
app's tabs) and the characters one user may store: conversations, profiles and the decision log.

Both are checked before anything is stored or the model is asked; a refusal says what to do next.
A chat turn *reserves* what it may store (``reserve``) before it runs: while it runs, what it may
still add counts against the user's quota, so turns sent at once cannot together pass it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import TypeVar

from alignment.errors import AlignError
from assistant.app.user_rate import RateLimited, UserRate
from profiles.schemas import Actor
from profiles.storage_use import stored_chars
from profiles.store import Store

__all__ = ["TURN_CHARS", "Reservation", "StorageFull", "TooManyRequests", "UsageLimits"]

T = TypeVar("T")

# what one chat turn stores besides the person's own words, at most: the reply and its decision log
# row (the advice, the estimates, the most similar stored decision)
TURN_CHARS = 12_000


class TooManyRequests(AlignError):
    """More requests in a minute than the user's limit; ``wait_s``: when the next one is accepted."""

    def __init__(self, limit: int, wait_s: float) -> None:
        super().__init__(
            f"you sent more than {limit} requests in a minute; wait {max(1, round(wait_s))} s, then try again"
        )
        self.limit = limit
        self.wait_s = wait_s


class StorageFull(AlignError):
    """What the user stores (conversations, profiles, decision log) holds their quota: the request was
    neither stored nor answered."""

    def __init__(self, used: int, quota: int) -> None:
        super().__init__(
            f"you store {used:,} characters (conversations, profiles and the decision log together), "
            f"the limit is {quota:,}: this was not stored or answered; delete old conversations in the "
            "Chat tab (Delete this conversation) or profiles you no longer need; decisions stay in the "
            "log, so if that is not enough, ask an admin to raise the limit"
        )
        self.used = used
        self.quota = quota


class UsageLimits:
    """``per_minute``: requests (chat turns, decisions, comparisons) per user per minute;
    ``quota_chars``: the characters one user may store (conversations, profiles, decision log)."""

    def __init__(self, store: Store, *, per_minute: int, quota_chars: int) -> None:
        self.store = store
        self.rate = UserRate(per_minute)
        self.quota_chars = quota_chars
        self._reserved: dict[str, int] = {}  # user -> characters reserved by turns still running
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def take(self, actor: Actor) -> None:
        """Count one request of ``actor``; ``TooManyRequests`` (not counted) past the limit."""
        try:
            self.rate.take(actor.name)
        except RateLimited as exc:
            raise TooManyRequests(exc.limit, exc.wait_s) from None

    def check_storage(self, actor: Actor, adding: int = 0) -> None:
        """``StorageFull`` once what the actor stores holds the quota, or would pass it with ``adding``
        more characters (checked before a chat turn, a decision, a comparison, a profile is stored)."""
        with self._user_lock(actor.name):
            self._check(actor, adding)

    def reserve(self, actor: Actor, text_chars: int) -> Reservation:
        """Reserve what one chat turn may store, ``text_chars`` of the person's text and ``TURN_CHARS``
        stored with it, or raise ``StorageFull`` as ``check_storage`` does (turns still running count
        as stored); the check and the reservation are one step per user. With less room left than
        that, the turn takes all of it: the turns of one person running at once then pass the quota
        by no more than one turn does alone. The reservation is released once the turn's rows are
        stored (``Reservation.hold``)."""
        with self._user_lock(actor.name):
            used = self._check(actor, text_chars)
            chars = min(text_chars + TURN_CHARS, self.quota_chars - used)
            with self._lock:
                self._reserved[actor.name] = self._reserved.get(actor.name, 0) + chars
        return Reservation(self, actor, chars)

    def reserved(self, user: str) -> int:
        with self._lock:
            return self._reserved.get(user, 0)

    def _release(self, user: str, chars: int) -> None:
        with self._lock:
            left = self._reserved.get(user, 0) - chars
            if left > 0:
                self._reserved[user] = left
            else:
                self._reserved.pop(user, None)

    def _user_lock(self, user: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(user, threading.Lock())

    def _check(self, actor: Actor, adding: int) -> int:
        """What the actor stores and has reserved; ``StorageFull`` when ``adding`` does not fit."""
        used = stored_chars(self.store.sessions, actor) + self.reserved(actor.name)
        if used >= self.quota_chars or used + adding > self.quota_chars:
            raise StorageFull(used, self.quota_chars)
        return used


class Reservation:
    """Characters a running turn holds against its user's quota; ``release()`` (more than once is
    harmless) gives them back once the turn's rows count by themselves."""

    def __init__(self, limits: UsageLimits, actor: Actor, chars: int) -> None:
        self._limits, self._actor, self._user, self.chars = limits, actor, actor.name, chars
        self._done = threading.Lock()
        self._released = False

    def release(self) -> None:
        with self._done:
            if self._released:
                return
            self._released = True
        self._limits._release(self._user, self.chars)

    def grow(self, extra: int) -> None:
        """Reserve ``extra`` more characters for this turn (a conversation's start it copies), or raise
        ``StorageFull`` as ``reserve`` does, before they are stored."""
        if extra <= 0:
            return
        limits = self._limits
        with limits._user_lock(self._user):
            actor_used = stored_chars(limits.store.sessions, self._actor) + limits.reserved(self._user)
            if actor_used + extra > limits.quota_chars:
                raise StorageFull(actor_used, limits.quota_chars)
            with limits._lock:
                limits._reserved[self._user] = limits._reserved.get(self._user, 0) + extra
            with self._done:
                self.chars += extra

    def hold(self, updates: Iterator[T]) -> Iterator[T]:
        """``updates`` that release the reservation when they end, fail, are closed, or are dropped
        without being read."""

        def held() -> Iterator[T]:
            try:
                yield from updates
            finally:
                self.release()

        wrapped = held()
        weakref.finalize(wrapped, self.release)
        return wrapped
