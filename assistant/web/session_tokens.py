"""Login sessions that end when the user's password or role changes, or the user is deleted.

Gradio keeps its login sessions in ``app.tokens`` (cookie token -> user name, in this process) and
reads it on every request (``tokens.get(token)``). ``SessionTokens`` takes that dict's place: each
token remembers the user's *session stamp* from the database when it was issued (the user's id and
``session_epoch``); a token whose stamp no longer matches is dropped the next time it is shown, so
the old cookie gets 401. The stamp lives in the database, so a change made through any replica
ends the sessions on every replica at the next request.

A session also ends when it was not used for ``idle_s`` (the ``session_idle_s`` setting), and in any
case ``lifetime_s`` after the login (``session_lifetime_s``): a cookie left in a forgotten browser or
copied off a machine does not stay good for ever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SessionTokens"]

MAX_SESSIONS_PER_USER = 50  # logging in again and again keeps only this many sessions per user
IDLE_S = 7 * 24 * 3600.0  # a session not used for this long ends
LIFETIME_S = 30 * 24 * 3600.0  # and any session ends this long after its login


class _Unreadable:
    """The stamp could not be read (the database did not answer)."""


UNREADABLE = _Unreadable()


class SessionTokens(dict[str, str]):
    """A ``dict`` of token -> user name, as Gradio expects, checked against ``stamp(name)``.

    ``stamp(name)`` is the user's current session stamp, or None when the user no longer exists.
    If the stamp cannot be read (the database is down) the session does not count: fail closed.
    A session unused for ``idle_s``, or older than ``lifetime_s``, is dropped when next shown.
    """

    def __init__(
        self,
        stamp: Callable[[str], str | None],
        *,
        max_per_user: int = MAX_SESSIONS_PER_USER,
        idle_s: float = IDLE_S,
        lifetime_s: float = LIFETIME_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._stamp = stamp
        self._issued: dict[str, str | None] = {}  # token -> stamp when it was issued
        self._times: dict[str, tuple[float, float]] = {}  # token -> (logged in, last used)
        self._max_per_user = max_per_user
        self.idle_s = idle_s
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._lock = threading.RLock()

    def _expired(self, token: str, now: float) -> bool:
        born, seen = self._times.get(token, (now, now))
        return now - seen > self.idle_s or now - born > self.lifetime_s

    def _current(self, name: str) -> str | _Unreadable | None:
        """``name``'s stamp (None: no such user), or UNREADABLE when the database does not answer
        twice in a row (a pooled connection that was cut is replaced on the second try)."""
        for _ in range(2):
            try:
                return self._stamp(name)
            except Exception:
                continue
        return UNREADABLE

    def __setitem__(self, token: str, name: str) -> None:
        current = self._current(name)
        # unreadable: issued without a stamp, so it fails its first check and the user logs in again
        stamp = current if isinstance(current, str) else None
        now = self._clock()
        with self._lock:
            for old in [t for t in self if self._expired(t, now)]:  # forgotten sessions go
                self.pop(old, None)
            super().__setitem__(token, name)
            self._issued[token] = stamp
            self._times[token] = (now, now)
            mine = [t for t, n in self.items() if n == name]
            for old in mine[: max(0, len(mine) - self._max_per_user)]:  # oldest first (insertion order)
                self.pop(old, None)

    def get(self, token: Any, default: Any = None) -> Any:
        now = self._clock()
        with self._lock:
            name = super().get(token)
            issued = self._issued.get(token)
            expired = name is not None and self._expired(token, now)
        if name is None:
            return default
        if expired:
            self.pop(token, None)
            return default
        current = self._current(name)
        if current is UNREADABLE:  # fail closed for this request, but a database blip ends no session
            return default
        if current is None or current != issued:
            self.pop(token, None)
            return default
        with self._lock:
            if token in self._times:
                self._times[token] = (self._times[token][0], now)
        return name

    def __delitem__(self, token: str) -> None:
        with self._lock:
            super().__delitem__(token)
            self._issued.pop(token, None)
            self._times.pop(token, None)

    def pop(self, token: Any, *default: Any) -> Any:
        with self._lock:
            self._issued.pop(token, None)
            self._times.pop(token, None)
            return super().pop(token, *default)

    def renew(self, token: str | None, name: str) -> bool:
        """Keep ``token`` (a session of ``name``) valid after ``name``'s own password change."""
        if not token:
            return False
        stamp = self._current(name)
        with self._lock:
            if super().get(token) != name or not isinstance(stamp, str):  # no such user, or unreadable
                return False
            self._issued[token] = stamp
            return True
