"""Read deploy/docker-compose.yml and deploy/.env.example the way docker compose does.

``app_environment()`` is the app service's environment with every ``${...}`` resolved from the
env file: the settings the compose file passes to each replica. The production-stack test starts
its processes from it (with the hosts swapped for loopback ones), so the two cannot drift.
Interpolation follows the compose rules that the file uses: ``$$``, ``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?message}``, ``${VAR?message}``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "COMPOSE_FILE",
    "DEPLOY",
    "ENV_EXAMPLE",
    "app_environment",
    "interpolate",
    "load_compose",
    "read_env_file",
    "variables_used",
]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: {line!r} is not KEY=VALUE")
        env[key.strip()] = value.strip()
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = env.get(name)
        empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if empty else str(value)
        if op in (":?", "?"):
            if empty:
                raise KeyError(f"{name}: {arg}")
            return str(value)
        return value or ""

    return _VAR.sub(one, text)


def _resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    return node


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file with anchors expanded and variables resolved from ``env`` (.env.example)."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return dict(_resolve(raw, read_env_file() if env is None else env))


def app_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    environment = load_compose(env)["services"]["app"]["environment"]
    return {str(k): str(v) for k, v in environment.items()}


def variables_used() -> set[str]:
    return {m.group("name") for m in _VAR.finditer(COMPOSE_FILE.read_text()) if m.group("name")}
