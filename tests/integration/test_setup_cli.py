"""`align setup` finds the shipped data wherever it is run from, and fails when the data is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from alignment.datasets import dataset_files, load_file
from assistant.cli.setup import everyday_example_files
from assistant.stores.seed_data import ENV, seed_data_dir

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


def _checkout_examples() -> int:
    """How many example decisions `align setup` seeds from the checkout's datasets/ (the store keeps
    one per id, a content hash), counted without embedding them."""
    root = REPO / "datasets"
    paths = [str(root / "triage"), str(root / "opinionqa"), *map(str, everyday_example_files(root))]
    return len({r.to_example().id for f in dataset_files(paths) for r in load_file(f)})


def test_the_shipped_data_is_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert seed_data_dir() == REPO / "datasets"
    monkeypatch.chdir(REPO)
    assert seed_data_dir() == REPO / "datasets"


def test_setup_outside_the_checkout_seeds_the_checkouts_examples(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert not outside.resolve().is_relative_to(REPO)
    away = _setup(outside, tmp_path / "data")
    assert away.returncode == 0, away.stderr
    assert _stored(away.stdout) == _checkout_examples() > 1000
    assert "reader record:" in away.stdout and (tmp_path / "data" / "readers.json").is_file()


def test_setup_fails_when_the_data_is_missing(tmp_path: Path) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    done = _setup(tmp_path, tmp_path / "data", **{ENV: str(empty)})
    assert done.returncode == 2
    assert "the example data is missing" in done.stderr and "ALIGN_DATASETS_DIR" in done.stderr
    assert not (tmp_path / "data").exists()  # nothing was written
