"""The attribute catalogue: every stored definition, prompt-ready, read through a cache.

Decisions describe a target's values with their definitions (description, what high and low mean);
every decision, comparison and chat turn asks for them, so they are read from the database once and
kept. An edit through the same store (``AttributeStore.add`` or ``upsert``: an admin's, from the app
or the CLI) empties the cache at once. An edit by another process on the same database (another
replica of the server, ``align attributes`` run beside it) is read at most ``max_age_s`` later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from alignment.models import Attribute
from profiles.attributes import AttributeStore

__all__ = ["MAX_AGE_S", "AttributeCatalogue"]

MAX_AGE_S = 2.0  # how stale an edit made by another process may be seen


class AttributeCatalogue:
    """``current()``: the definitions as ``AttributeStore.prompt_attributes()`` gives them, cached."""

    def __init__(
        self,
        attributes: AttributeStore,
        *,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._attributes = attributes
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[str, Attribute] | None = None
        self._read_at = 0.0
        attributes.on_change(self.invalidate)

    def current(self) -> dict[str, Attribute]:
        """The definitions (a copy: the caller may change it)."""
        with self._lock:  # a read holds the lock, so an edit's invalidation never lands before it
            if self._cached is None or self._clock() - self._read_at > self._max_age_s:
                self._cached = self._attributes.prompt_attributes()
                self._read_at = self._clock()
            return dict(self._cached)

    def invalidate(self) -> None:
        """Read the definitions again on the next ``current()``."""
        with self._lock:
            self._cached = None
