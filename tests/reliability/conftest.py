"""The reliability tests reuse the integration helpers (live app server, llama server, Chroma, PostgreSQL)."""

import sys
from pathlib import Path

_INTEGRATION = str(Path(__file__).resolve().parents[1] / "integration")
if _INTEGRATION not in sys.path:
    sys.path.insert(0, _INTEGRATION)

import pytest  # noqa: E402

# imported here by plain `import` and elsewhere as a pytest plugin: rewrite it either way
pytest.register_assert_rewrite("conftest_app")
