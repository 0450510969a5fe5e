"""Modules import on their own in a fresh interpreter (no import cycle hidden by import order).

The chat engine imported the app package, whose facade imports the chat engine: `import assistant.chat`
failed in a fresh interpreter and worked only after something imported `assistant.app`.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module",
    [
        "assistant.chat",
        "assistant.app.schemas",
        "assistant.app.messages",
        "assistant.app.service",
        "assistant.service",
        "alignment.algorithms.value_fit",
        "assistant.embedder",
    ],
)
def test_module_imports_alone(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
