"""`align bench store` runs end to end on a small throw-away database and reports medians."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ALIGN = str(Path(sys.executable).parent / "align")


def test_bench_store_json(tmp_path: Path) -> None:
    out = subprocess.run(
        [ALIGN, "bench", "store", "--users", "50", "--decisions", "500", "--repeats", "5", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)
    assert result["backend"] == "sqlite" and result["users"] == 50 and result["decisions"] == 500
    medians = result["median_ms"]
    assert set(medians) == {"load_profile_with_definitions", "log_decision", "list_last_50_decisions"}
    assert all(0 < v < 1000 for v in medians.values())
    assert list(tmp_path.iterdir()) == []  # nothing left behind
