"""Shared fixtures of the integration tests."""

from __future__ import annotations

import os
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
    One thread (ALIGN_TEST_THREADS to change): the 2 cores here are shared, and llama.cpp's
    spinning worker threads slow down several-fold when another process holds a core
    (measured: 30 tokens in 1.0 s with 1 thread, 5.5 s with 2, next to one busy process).
    """
    from assistant.backbones.llamacpp.backbone import create

    threads = int(os.environ.get("ALIGN_TEST_THREADS", "1"))
    backbone = create("embedded", {"model_path": str(embedded_model_file), "n_threads": threads}, None)
    try:
        yield backbone
    finally:
        backbone.close()
