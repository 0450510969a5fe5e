"""pytest plugin: the ``llama_server`` fixture (a real llama-cpp-python server, one per session).

Use it from a test module with ``pytest_plugins = ["conftest_server"]`` (tests/integration is on
sys.path while its modules are collected) and mark the tests ``@pytest.mark.server``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_server import LlamaServer

__all__ = ["llama_server"]


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A running ``python -m llama_cpp.server`` with the embedded Gemma GGUF on a free port."""
    from assistant.models_local import embedded_model_path

    server = LlamaServer(embedded_model_path())
    server.start()
    try:
        yield server
    finally:
        server.stop()
