"""`align setup` finds the shipped data wherever it is run from, and fails when the data is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _setup(cwd: Path, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "ALIGN_DATA_DIR": str(data_dir), **env}
    environ.pop("ALIGN_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "assistant", "setup"],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _stored(out: str) -> int:
    found = re.search(r"example decisions: imported \d+ from .*; (\d+) stored", out)
    assert found, out
    return int(found.group(1))


def test_setup_seeds_the_same_examples_from_any_directory(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert not outside.resolve().is_relative_to(REPO)
    away = _setup(outside, tmp_path / "data-away")
    assert away.returncode == 0, away.stderr
    here = _setup(REPO, tmp_path / "data-here")
    assert here.returncode == 0, here.stderr
    assert _stored(away.stdout) == _stored(here.stdout) > 1000
    assert "reader record:" in away.stdout and (tmp_path / "data-away" / "readers.json").is_file()


def test_setup_fails_when_the_data_is_missing(tmp_path: Path) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    done = _setup(tmp_path, tmp_path / "data", ALIGN_DATASETS_DIR=str(empty))
    assert done.returncode == 2
    assert "the example data is missing" in done.stderr and "ALIGN_DATASETS_DIR" in done.stderr
    assert not (tmp_path / "data").exists()  # nothing was written
