"""How many API requests run at once, and how many may wait: the limits of Gradio's queue for ``/v1``.

``align serve`` runs at most ``--concurrency`` requests of one kind at once and lets ``max_queue`` more
wait; past that a caller is told the server is busy (HTTP 503) instead of piling up. ``ApiGate``
does the same for the OpenAI-compatible API. A ``Lease`` is given back once, however the request
ends (answered, failed, or the caller went away).
"""

from __future__ import annotations

import anyio

__all__ = ["ApiGate", "Busy", "Lease"]


class Busy(Exception):
    """Every slot is taken and the waiting line is full."""


class Lease:
    """One running request's slot; ``release`` is idempotent."""

    def __init__(self, semaphore: anyio.Semaphore) -> None:
        self._semaphore: anyio.Semaphore | None = semaphore

    def release(self) -> None:
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()


class ApiGate:
    def __init__(self, concurrency: int, max_waiting: int) -> None:
        if concurrency < 1 or max_waiting < 0:
            raise ValueError("concurrency must be at least 1 and max_waiting at least 0")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self._semaphore: anyio.Semaphore | None = None  # made on the server's event loop
        self.waiting = 0

    @property
    def running(self) -> int:
        return 0 if self._semaphore is None else self.concurrency - self._semaphore.value

    async def enter(self) -> Lease:
        """A slot, once one is free; ``Busy`` at once when the waiting line is full."""
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.concurrency)
        semaphore = self._semaphore
        if semaphore.value == 0 and self.waiting >= self.max_waiting:
            raise Busy
        self.waiting += 1
        try:
            await semaphore.acquire()
        finally:
            self.waiting -= 1
        return Lease(semaphore)
