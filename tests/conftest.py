"""The fixtures every test directory may ask for: ``app_server`` (a live ``align serve`` with three
users), ``llama_server`` (a real llama-cpp-python server), ``browser`` (Debian's chromium) and what
the browser attacks take (``attacker``, ``login_app``), each started only when a test asks."""

import pytest

# the shared helpers hold assertions of their own: rewrite them like the tests'
pytest.register_assert_rewrite("tests.helpers")

pytest_plugins = ["tests.helpers.serve", "tests.helpers.llama_server", "tests.helpers.browser"]
