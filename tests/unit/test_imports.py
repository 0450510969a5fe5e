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
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT
    )
    return module, done.returncode, (done.stderr.strip().splitlines() or [""])[-1]


def test_the_module_list_is_complete() -> None:
    found = modules()
    assert (
        "assistant.decisions.chat" in found
        and "ui.app" in found
        and "alignment.algorithms.value_fit" in found
    )
    assert len(found) > 100


def test_every_module_imports_alone() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [(m, err) for m, rc, err in pool.map(_import_alone, modules()) if rc != 0]
    assert failures == []


def _loaded_after_importing(packages: tuple[str, ...]) -> set[str]:
    """The modules loaded after importing every module of ``packages`` in a fresh interpreter."""
    names = [m for m in modules() if any(m == p or m.startswith(p + ".") for p in packages)]
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
    code += "print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(done.stdout.split())


def _within(loaded: set[str], package: str) -> list[str]:
    return sorted(m for m in loaded if m == package or m.startswith(package + "."))


def test_dependencies_point_down() -> None:
    """DESIGN.md's picture of the house: the decision layer, the stores and the backbones never import
    the facade, the web pieces, the CLI or the UI; the server (the UI, the facade, the web pieces)
    never imports the CLI."""
    below = _loaded_after_importing(("assistant.decisions", "assistant.stores", "assistant.backbones"))
    for above in ("assistant.app", "assistant.web", "assistant.cli", "ui"):
        assert _within(below, above) == [], above
    server = _loaded_after_importing(("ui", "assistant.app", "assistant.web"))
    assert _within(server, "assistant.cli") == []
