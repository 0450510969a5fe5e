"""Something expensive to open (a model, a store), opened on first use: once, by whichever thread
asks first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["OnFirstUse"]

T = TypeVar("T")


class OnFirstUse(Generic[T]):
    """``make()``'s result, made by the first ``get()``; later calls answer the same one."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._make()
            return self._value
