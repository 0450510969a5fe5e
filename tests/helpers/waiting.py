"""Waiting on a live server from a test: poll until something holds, with a bound only against a hang
(no test asserts how long anything took)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["wait_for"]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 180) -> Any:
    """Poll ``condition`` every 0.1 s until it returns something true, and return that; after
    ``timeout`` seconds fail, naming ``what`` was waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout} s for {what}")
