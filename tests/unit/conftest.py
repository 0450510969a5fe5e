"""The unit tests' ``app`` (the app facade on a real SQLite store and a scripted backbone,
``tests.helpers.app.make_app``, closed after the test) and ``clean_align_env``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.app import AppService
from tests.helpers.app import make_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AppService]:
    service = make_app(tmp_path)
    yield service
    service.store.close()


@pytest.fixture
def clean_align_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ALIGN_* variable of the shell that runs the tests, and ``tmp_path`` as the working folder
    (settings read both)."""
    for key in list(os.environ):
        if key.startswith("ALIGN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
