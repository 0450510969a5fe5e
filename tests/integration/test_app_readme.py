"""The README's examples run as written: its OpenAI client example against a live server (URL and key
swapped in), docs/api.md's gradio_client example likewise (URL and login swapped in), and every `align`
command in the README's shell blocks is one the CLI accepts."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from assistant.cli import build_parser
from tests.helpers.serve import align_cli

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
API_DOC = REPO / "docs" / "api.md"


def _example(path: Path, marker: str) -> str:
    text = path.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker}[^>]*-->\s*```python\n(?P<code>.*?)```", text, re.DOTALL)
    assert found, f"{path.name} lost its {marker} block"
    return found.group("code")


def _run(code: str, name: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, name, "exec"), {})
    return out.getvalue()


def _readme_commands() -> list[list[str]]:
    """Each `align ...` command of the README's bash blocks (continuation lines joined, comments cut)."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split(" ; "):
                words = shlex.split(part, comments=True)
                if words and words[0] in ("align", ".venv/bin/align"):
                    commands.append(words[1:])
    return commands


def test_every_readme_command_is_one_the_cli_accepts() -> None:
    commands = _readme_commands()
    assert len(commands) >= 10 and ["serve"] in commands
    parser = build_parser()
    for args in commands:
        try:
            parser.parse_args(args)
        except SystemExit as exc:  # argparse's way of refusing
            raise AssertionError(f"README: `align {shlex.join(args)}` is refused by the CLI") from exc


@pytest.mark.model
def test_readme_openai_example_runs(app_server):
    made = align_cli(
        app_server.data_dir, "users", "add", "readme-chat", "--password", "readme-chat-password", timeout=300
    )
    assert made.returncode == 0, made.stderr
    made = align_cli(
        app_server.data_dir, "profiles", "create", "careful", "--user", "readme-chat",
        "--target", "security=0.9", "--target", "stimulation=0.2", timeout=300)  # fmt: skip
    assert made.returncode == 0, made.stderr
    made = align_cli(app_server.data_dir, "users", "api-key", "create", "readme-chat", "--json", timeout=300)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    code = _example(README, "openai-example")
    code = code.replace('"http://127.0.0.1:7860/v1"', repr(app_server.url + "/v1"))
    code = code.replace('"align-..."', repr(key))
    printed = _run(code, "README.md:openai-example")
    assert printed.startswith("**My advice: ")
    assert "safe job" in printed and "startup" in printed
    assert "I did not pick" in printed or "is the option I recommended" in printed
    store = app_server.open_store()
    try:
        entries = store.log.list(store.users.actor("readme-chat"))
        assert entries and all(e.profile_name == "careful" for e in entries)
    finally:
        store.close()


@pytest.mark.model
def test_api_doc_example_runs(app_server):
    code = _example(API_DOC, "api-example")
    code = code.replace('"http://127.0.0.1:7860"', repr(app_server.url))
    code = code.replace('("admin", "change-me-please")', repr(app_server.auth("root")))
    code = code.replace('"alice"', '"readme-user"')  # alice exists on the shared test server
    printed = _run(code, "docs/api.md:api-example")
    assert "I did not recommend (B)" in printed or "is the option I recommended" in printed
    assert "'name': 'readme-user'" in printed and "'fairness'" in printed
    store = app_server.open_store()
    try:
        root = store.users.actor("root")
        assert "medic" not in [p.name for p in store.profiles.list(root)]  # the example deletes it at the end
        assert store.attributes.get("honesty").description == "Telling the truth"
    finally:
        store.close()
