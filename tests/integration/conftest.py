"""Shared fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment.backbone import Backbone


@pytest.fixture(scope="session")
def embedded_model_file() -> Path:
    """The embedded Gemma 3 270M GGUF (assembled once from its PyPI package)."""
    from assistant.models_local import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def embedded_backbone(embedded_model_file: Path) -> Iterator[Backbone]:
    """The real ``llamacpp`` backbone on the embedded model, built once per test session.

    One request at a time (it holds a lock); tests that share it must not assume an empty KV cache.
    """
    from assistant.backbones.llamacpp import create

    backbone = create("embedded", {"model_path": str(embedded_model_file)}, None)
    try:
        yield backbone
    finally:
        backbone.close()
