"""Requests per minute, per user: the rate limit of chat turns and decisions (/v1 and the web app alike).

A sliding window of the last minute's accepted requests for each user; a request past the limit is
refused (``RateLimited``, with how long to wait) and not counted. Thread-safe; memory is bounded by
forgetting users whose window is empty.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimited", "UserRate"]

WINDOW_S = 60.0


class RateLimited(Exception):
    def __init__(self, limit: int, wait_s: float) -> None:
        super().__init__(f"more than {limit} requests in a minute")
        self.limit = limit
        self.wait_s = wait_s


class UserRate:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, user: str) -> None:
        """Count one request of ``user``; ``RateLimited`` (not counted) past the limit."""
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(user, deque())
            while seen and now - seen[0] >= WINDOW_S:
                seen.popleft()
            if len(seen) >= self.per_minute:
                raise RateLimited(self.per_minute, WINDOW_S - (now - seen[0]))
            seen.append(now)
            if len(self._seen) > 10_000:  # forget users with nothing in their window
                self._seen = {u: s for u, s in self._seen.items() if s and now - s[-1] < WINDOW_S}
