"""A test's settings from nothing but what it sets: the ``ALIGN_*`` variables of the process that
runs the tests taken away."""

from __future__ import annotations

import os

import pytest

__all__ = ["clear_align_settings"]


def clear_align_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every ``ALIGN_*`` variable for the test (``monkeypatch`` puts them back after it)."""
    for key in list(os.environ):
        if key.startswith("ALIGN_"):
            monkeypatch.delenv(key)
