"""``align bench serve`` for a few seconds with few users: the report's shape, and no errors.

Not a timed test: the 16-user, 60-second figures are in README (Reliability)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ALIGN = str(Path(sys.executable).parent / "align")


@pytest.mark.model
@pytest.mark.timeout(600)
def test_bench_serve_short_run_has_no_errors(tmp_path):
    env = {
        **os.environ,
        "ALIGN_DATA_DIR": str(tmp_path / "unused"),
        "ALIGN_BACKBONES": json.dumps({"embedded": {"type": "llamacpp", "n_threads": 1, "n_ctx": 2048}}),
    }
    out = subprocess.run(
        [ALIGN, "bench", "serve", "--users", "3", "--seconds", "6", "--calibrate-seconds", "4", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=580,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    for key in ("errors", "requests", "throughput_over_backbone", "p95_s", "peak_rss_mb"):
        assert key in report, key
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] >= 3 and report["decisions"] >= 1
    assert report["decisions"] + report["profile_edits"] == report["requests"]
    assert 0 < report["p50_s"] <= report["p95_s"]
    assert report["throughput_over_backbone"] > 0 and report["backbone_rps"] > 0
    assert report["peak_rss_mb"] > 100  # the server holds the model
    assert "backbone alone" in out.stderr and "load:" in out.stderr


def test_bench_serve_rejects_bad_arguments(tmp_path):
    out = subprocess.run(
        [ALIGN, "bench", "serve", "--users", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "ALIGN_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 2 and "--users must be at least 1" in out.stderr
