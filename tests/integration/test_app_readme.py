"""README's gradio_client example runs as written against a live server (URL and login swapped in)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

pytest_plugins = ["conftest_app"]

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- api-example[^>]*-->\s*```python\n(?P<code>.*?)```", text, re.DOTALL)
    assert found, "README lost its api-example block"
    return found.group("code")


@pytest.mark.model
def test_readme_api_example_runs(app_server):
    code = _example()
    code = code.replace('"http://127.0.0.1:7860"', repr(app_server.url))
    code = code.replace('("admin", "change-me-please")', repr(app_server.auth("root")))
    code = code.replace('"alice"', '"readme-user"')  # alice exists on the shared test server
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md:api-example", "exec"), {})
    printed = out.getvalue()
    assert "I did not recommend (B)" in printed or "is the option I recommended" in printed
    assert "'name': 'readme-user'" in printed and "'fairness'" in printed
    store = app_server.open_store()
    try:
        root = store.users.actor("root")
        assert "medic" not in [p.name for p in store.profiles.list(root)]  # the example deletes it at the end
        assert store.attributes.get("honesty").description == "Telling the truth"
    finally:
        store.close()
