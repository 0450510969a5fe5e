"""The unit tests' ``app``: the app facade on a real SQLite store and a scripted backbone
(``tests.helpers.app.make_app``), closed after the test."""

from __future__ import annotations

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
