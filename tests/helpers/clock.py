"""A clock a test moves by hand: pass it as a ``clock=`` and add to ``now``."""

from __future__ import annotations

__all__ = ["Clock"]


class Clock:
    """Returns ``now`` when called; the test sets or advances it (``clock.now += 30``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
