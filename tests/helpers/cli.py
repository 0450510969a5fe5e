"""The real ``align`` command of this virtualenv, run as a person runs it: its console script in a
subprocess, output captured as text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alignment.models import Scenario

__all__ = ["ALIGN", "align_json", "decide_args", "run_align"]

ALIGN = str(Path(sys.executable).parent / "align")


def run_align(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    unset: Sequence[str] = (),
    stdin_text: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``align ARGS`` in ``cwd``, with this process's environment plus ``env`` and without the
    variables named in ``unset``; ``stdin_text`` is typed into it (without it, its stdin is closed)."""
    environ = {**os.environ, **(env or {})}
    for name in unset:
        environ.pop(name, None)
    return subprocess.run(
        [ALIGN, *args],
        input=stdin_text,
        stdin=subprocess.DEVNULL if stdin_text is None else None,
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=timeout,
    )


def align_json(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    unset: Sequence[str] = (),
    timeout: float = 300,
) -> Any:
    """The JSON ``align ARGS`` printed (``run_align``'s arguments); it must have succeeded."""
    done = run_align(args, cwd=cwd, env=env, unset=unset, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def decide_args(scenario: Scenario, *more: str) -> list[str]:
    """``align decide``'s arguments for the first two choices of ``scenario``, then ``more``."""
    choices = [arg for choice in scenario.choices[:2] for arg in ("--choice", choice)]
    return ["decide", "--scenario", scenario.text, *choices, *more]
