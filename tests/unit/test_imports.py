"""Every module of the four packages imports on its own in a fresh interpreter (no import cycle hidden
by import order).

The chat engine once imported the app package, whose facade imports the chat engine: `import
assistant.decisions.chat` failed in a fresh interpreter and worked only after something imported `assistant.app`.
"""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("alignment", "profiles", "assistant", "ui")


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts or parts[-1] == "__main__":  # run by Alembic / by `python -m`
                continue
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def _import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT)
    return module, done.returncode, (done.stderr.strip().splitlines() or [""])[-1]


def test_the_module_list_is_complete() -> None:
    found = modules()
    assert "assistant.decisions.chat" in found and "ui.app" in found and "alignment.algorithms.value_fit" in found
    assert len(found) > 100


def test_every_module_imports_alone() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [(m, err) for m, rc, err in pool.map(_import_alone, modules()) if rc != 0]
    assert failures == []
