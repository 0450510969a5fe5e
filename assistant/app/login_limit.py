"""Login attempts rate-limited per user name: after too many failures in a window, a cool-down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from alignment.errors import PermissionDenied

__all__ = ["LoginLimiter", "TooManyLogins"]


class TooManyLogins(PermissionDenied):
    """Refused without checking the password: too many recent failures for this user name."""

    def __init__(self, name: str, wait_s: float) -> None:
        super().__init__(
            f"too many failed logins for {name!r}; wait {max(1, round(wait_s))} s, then try again"
        )
        self.wait_s = wait_s


class LoginLimiter:
    """``max_failures`` failures for one user name within ``window_s`` lock it for ``cooldown_s``.

    Keyed by the case-folded name, whether or not the user exists (so it tells nothing about
    which names exist). A success clears the name's failures. Thread-safe; memory is bounded by
    forgetting failures older than the window.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 60.0,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(name: str) -> str:
        return name.strip().casefold()

    def check(self, name: str) -> None:
        """Raise TooManyLogins while ``name`` is cooling down."""
        key, now = self._key(name), self._clock()
        with self._lock:
            until = self._locked_until.get(key)
            if until is not None:
                if now < until:
                    raise TooManyLogins(name, until - now)
                del self._locked_until[key]

    def failed(self, name: str) -> None:
        key, now = self._key(name), self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
            recent.append(now)
            if len(recent) >= self.max_failures:
                self._locked_until[key] = now + self.cooldown_s
                self._failures.pop(key, None)
            else:
                self._failures[key] = recent
            if len(self._failures) > 10_000:  # forget stale names
                self._failures = {
                    k: v for k, v in self._failures.items() if v and now - v[-1] < self.window_s
                }

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(self._key(name), None)
