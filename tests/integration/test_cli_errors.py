"""Bad input on the command line: one line that says what to do, exit status 2, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ALIGN = str(Path(sys.executable).parent / "align")

CASES = [
    (["--scenario", "", "--choice", "a", "--choice", "b"], "scenario is empty"),
    (["--scenario", "x", "--choice", "a"], "at least 2 choices"),
    (["--scenario", "x", "--choice", "a", "--choice", "A"], "duplicate choices"),
    (["--scenario", "x", "--choice", "a", "--choice", "b", "--target", "fairness=1.5"], "must be in [0, 1]"),
    (["--scenario", "x", "--choice", "a", "--choice", "b", "--target", "fairness=nan"], "finite"),
    (["--scenario", "x", "--choice", "a", "--choice", "b", "--target", "fairness"], "NAME=VALUE"),
    (
        ["--scenario", "x", "--choice", "a", "--choice", "b", "--algorithm", "magic"],
        "unknown algorithm 'magic'",
    ),
    (["--scenario", "x", "--choice", "a", "--choice", "b", "--backbone", "gpt9"], "unknown backbone 'gpt9'"),
    (["--scenario", "x", "--choice", "a", "--choice", "b", "--decider", "nope"], "unknown decider 'nope'"),
    (["--scenario-file", "/nonexistent/file", "--choice", "a", "--choice", "b"], "cannot read scenario file"),
]


@pytest.mark.parametrize(("args", "message"), CASES)
def test_bad_input_is_one_clear_line(args, message, tmp_path):
    env = {**os.environ, "ALIGN_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [ALIGN, "decide", *args, "--algorithm", "random"]
        if "--algorithm" not in args
        else [ALIGN, "decide", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    assert out.returncode == 2, out
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_scenario_from_stdin(tmp_path):
    env = {**os.environ, "ALIGN_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [ALIGN, "decide", "--choice", "a", "--choice", "b", "--algorithm", "random", "--seed", "1", "--json"],
        input="A scenario from stdin",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert '"algorithm": "random"' in out.stdout
